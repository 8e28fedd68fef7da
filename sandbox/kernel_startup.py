"""Runs inside every kernel at start (IPKernelApp.exec_files), before the kernel serves requests.

It is never imported on the host. It caps output inside the sandbox, per cell:

- stdout and stderr (including output of subprocesses, which ipykernel reads from fd 1 and 2) share
  one budget of MATHAGENT_OUTPUT_CAP bytes; past it, one marker line is written and the rest dropped;
- values, display() data and tracebacks are cut to MATHAGENT_DISPLAY_CAP characters;

and pre-imports the modules in MATHAGENT_PRELOAD (comma separated) so the first cell is fast. The
names it defines are deleted at the end, so the user namespace starts empty.
"""


def _mathagent_install():  # noqa: C901 - one closure keeps the user namespace clean
    import importlib
    import os
    import sys

    from IPython import get_ipython

    sys.setswitchinterval(float(os.environ.get("MATHAGENT_SWITCH_INTERVAL", "0.0002")))
    out_cap = int(os.environ.get("MATHAGENT_OUTPUT_CAP", "65536"))
    disp_cap = int(os.environ.get("MATHAGENT_DISPLAY_CAP", "2000000"))
    marker = f"\n[mathagent: output truncated at {out_cap} bytes]\n"
    budget = {"left": out_cap, "marked": False}

    def reset(*_args, **_kwargs):
        budget["left"] = out_cap
        budget["marked"] = False

    def capped(original):
        def write(text):
            if not isinstance(text, str):
                return original(text)
            left = budget["left"]
            if left <= 0:
                if not budget["marked"]:
                    budget["marked"] = True
                    original(marker)
                return len(text)
            size = len(text.encode("utf-8", "replace")) if len(text) * 4 > left else len(text)
            if size > left:
                budget["left"] = 0
                original(text.encode("utf-8", "replace")[:left].decode("utf-8", "ignore"))
                budget["marked"] = True
                original(marker)
            else:
                budget["left"] = left - size
                original(text)
            return len(text)

        return write

    def lazy_flush(stream, original):
        # ipykernel flushes both streams after every request, each a round trip to its IO thread;
        # skip that when nothing was written (the main cost of a `1+1` cell).
        def flush(*args, **kwargs):
            if getattr(stream, "_buffers", True):
                return original(*args, **kwargs)
            return None

        return flush

    for stream in (sys.stdout, sys.stderr):
        if stream is not None and hasattr(stream, "write"):
            stream.write = capped(stream.write)
            stream.flush = lazy_flush(stream, stream.flush)

    def cut(text):
        if isinstance(text, str) and len(text) > disp_cap:
            return text[:disp_cap] + f"\n[mathagent: output truncated at {disp_cap} characters]"
        return text

    def cut_data(data):
        if not isinstance(data, dict):
            return data
        kept = {}
        for mime, value in data.items():
            if isinstance(value, str) and len(value) > disp_cap:
                if mime == "image/png":
                    continue
                value = cut(value)
            kept[mime] = value
        return kept

    shell = get_ipython()
    if shell is not None:
        shell.events.register("pre_execute", reset)
        hook = shell.displayhook
        write_format_data = hook.write_format_data
        hook.write_format_data = lambda fmt, md=None: write_format_data(cut_data(fmt), md)
        pub = shell.display_pub
        publish = pub.publish
        pub.publish = lambda data, metadata=None, *a, **k: publish(cut_data(data), metadata, *a, **k)
        show = shell._showtraceback
        shell._showtraceback = lambda etype, evalue, stb: show(
            etype, cut(str(evalue))[:2000], [cut(s) for s in stb[-30:]]
        )

    for name in filter(None, os.environ.get("MATHAGENT_PRELOAD", "").split(",")):
        try:
            importlib.import_module(name.strip())
        except Exception as exc:  # a missing optional library must not stop the kernel
            print(f"mathagent: could not preload {name}: {exc!r}", file=sys.__stderr__)


_mathagent_install()
del _mathagent_install
