"use strict";
// The run browser: a filterable, searchable, sortable, paged problem table; a click on a row opens the
// problem's trajectories (one run, or two side by side). The data is the JSON in #data (see
// eval/view/payload.py for its keys). No network, no libraries.
(function () {
  const DATA = JSON.parse(document.getElementById("data").textContent);
  const RUNS = DATA.runs;
  const P = DATA.problems;
  const TWO = RUNS.length === 2;
  const PAGE = 100;
  const LETTERS = ["A", "B"];
  const OUTCOME = {
    correct: "correct", wrong: "wrong", no_answer: "no answer", truncated: "truncated",
    grader_timeout: "grader timeout", grader_error: "grader error", model_error: "model error",
    ungradable: "ungradable", absent: "absent",
  };
  const state = { search: "", filters: {}, pair: "all", sort: null, desc: false, page: 0, open: new Set() };

  // ---- helpers ---------------------------------------------------------------------------------
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v == null || v === false) continue;
        if (k === "class") e.className = v;
        else if (k === "html") e.innerHTML = v;
        else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? "" : v);
      }
    }
    for (const kid of kids.flat()) {
      if (kid == null || kid === false) continue;
      e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return e;
  }
  const fmtPct = (x) => (x == null ? "–" : (100 * x).toFixed(1) + " %");
  const yesNo = (ok) => (ok === true ? "yes" : ok === false ? "no" : "–");
  const okClass = (ok) => (ok === true ? "good" : ok === false ? "bad" : "none");
  function badge(outcome) {
    const cls = outcome === "correct" ? "good" : outcome === "wrong" ? "bad" : "warn";
    return el("span", { class: "badge " + cls }, OUTCOME[outcome] || outcome);
  }
  function change(p) {
    const a = p.r[0], b = p.r[1];
    if (!a || !b || a.ok == null || b.ok == null) return "n/a";
    return a.ok ? (b.ok ? "both right" : "broken") : (b.ok ? "fixed" : "both wrong");
  }

  // ---- columns ---------------------------------------------------------------------------------
  // filter kinds: "text" (substring), "select" (one value), "num" (a comparison such as >=2, <1, 0).
  const COLS = [{ key: "id", label: "problem", filter: "text", get: (p) => p.id, cls: "id" }];
  COLS.push({ key: "b", label: "benchmark", filter: "select", get: (p) => p.b });
  if (P.some((p) => p.lv != null)) COLS.push({ key: "lv", label: "level", filter: "select", get: (p) => p.lv ?? "" });
  if (TWO) {
    COLS.push({ key: "chg", label: "change", filter: "select", get: change, cls: "chg" });
    COLS.push({ key: "ref", label: "reference", filter: "text", get: (p) => p.ref ?? "", cls: "ans" });
  }
  RUNS.forEach((run, i) => {
    const g = TWO ? i : null;
    const R = (p) => p.r[i];
    COLS.push({ key: "ok" + i, label: "correct", group: g, filter: "select",
      get: (p) => (R(p) ? yesNo(R(p).ok) : "absent"), tone: (p) => (R(p) ? okClass(R(p).ok) : "none") });
    COLS.push({ key: "o" + i, label: "status", group: g, filter: "select",
      get: (p) => (R(p) ? R(p).o : "absent"), show: (p) => OUTCOME[R(p) ? R(p).o : "absent"], names: OUTCOME });
    COLS.push({ key: "a" + i, label: "answer", group: g, filter: "text", get: (p) => (R(p) ? R(p).a ?? "" : ""), cls: "ans" });
    if (!TWO) COLS.push({ key: "ref", label: "reference", filter: "text", get: (p) => p.ref ?? "", cls: "ans" });
    COLS.push({ key: "n" + i, label: TWO ? "right" : "right / samples", group: g, filter: "num",
      get: (p) => (R(p) ? R(p).c : null), show: (p) => (R(p) ? R(p).c + " / " + R(p).n : "") });
    COLS.push({ key: "cc" + i, label: TWO ? "calls" : "code calls", group: g, filter: "num", get: (p) => (R(p) ? R(p).cc : null) });
    COLS.push({ key: "ce" + i, label: TWO ? "errors" : "code errors", group: g, filter: "num", get: (p) => (R(p) ? R(p).ce : null) });
    if (P.some((p) => p.r[i] && p.r[i].cr != null)) {
      COLS.push({ key: "cr" + i, label: "critic", group: g, filter: "num", get: (p) => (R(p) ? R(p).cr : null) });
    }
  });

  // ---- Python highlighting (on open: only the code of the problems looked at is tokenized) ----------
  const KEYWORDS = new Set(("False None True and as assert async await break class continue def del elif else except " +
    "finally for from global if import in is lambda nonlocal not or pass raise return try while with yield").split(" "));
  const BUILTINS = new Set(("abs all any bin bool chr complex dict divmod enumerate filter float format frozenset getattr " +
    "hasattr hex input int isinstance iter len list map max min next object oct open ord pow print range repr " +
    "reversed round set setattr slice sorted str sum super tuple type zip Exception ValueError TypeError " +
    "ZeroDivisionError NameError KeyError IndexError AttributeError RuntimeError StopIteration self").split(" "));
  // comment | string (prefixes, triple quotes; unterminated: to the end) | number | decorator | def/class name | word
  const PY_TOKEN = new RegExp([
    String.raw`(#[^\n]*)`,
    String.raw`((?:[rRbBuUfF]{1,2})?(?:"""[\s\S]*?(?:"""|$(?![\s\S]))|'''[\s\S]*?(?:'''|$(?![\s\S]))|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?))`,
    String.raw`(\b(?:0[xX][\da-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|\d[\d_]*(?:\.[\d_]*)?(?:[eE][+-]?\d+)?[jJ]?))`,
    String.raw`((?<=^[ \t]*)@[\w.]+)`,
    String.raw`\b(def|class)(\s+)([A-Za-z_]\w*)`,
    String.raw`\b([A-Za-z_]\w*)`,
  ].join("|"), "gm");
  const escapeHtml = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const span = (cls, s) => `<span class="${cls}">${escapeHtml(s)}</span>`;
  function highlight(code) {
    let out = "", last = 0, m;
    PY_TOKEN.lastIndex = 0;
    while ((m = PY_TOKEN.exec(code)) !== null) {
      out += escapeHtml(code.slice(last, m.index));
      if (m[1] !== undefined) out += span("c", m[1]);
      else if (m[2] !== undefined) out += span("s", m[2]);
      else if (m[3] !== undefined) out += span("n", m[3]);
      else if (m[4] !== undefined) out += span("d", m[4]);
      else if (m[5] !== undefined) out += span("k", m[5]) + m[6] + span("f", m[7]);
      else out += KEYWORDS.has(m[8]) ? span("k", m[8]) : BUILTINS.has(m[8]) ? span("b", m[8]) : escapeHtml(m[8]);
      last = PY_TOKEN.lastIndex;
    }
    return out + escapeHtml(code.slice(last));
  }

  // ---- search ----------------------------------------------------------------------------------
  let HAY = null; // lower-cased text of every problem, built at the first search
  function haystack() {
    if (HAY) return HAY;
    HAY = P.map((p) => {
      const parts = [p.id, p.q, p.ref || "", p.b];
      for (const r of p.r) {
        if (!r) continue;
        for (const t of r.t) {
          parts.push(t.a || "", t.ct || "", t.err || "");
          for (const s of t.st) parts.push(s[1]);
        }
      }
      return parts.join("\n").toLowerCase();
    });
    return HAY;
  }

  // ---- filtering -------------------------------------------------------------------------------
  function numTest(expr) {
    const m = /^\s*(>=|<=|>|<|==|=)?\s*(-?\d+(?:\.\d+)?)\s*$/.exec(expr);
    if (!m) return null;
    const op = m[1] || "=", x = parseFloat(m[2]);
    return (v) => v != null && (op === ">=" ? v >= x : op === "<=" ? v <= x : op === ">" ? v > x : op === "<" ? v < x : v === x);
  }
  function matching() {
    const tests = [];
    for (const c of COLS) {
      const f = state.filters[c.key];
      if (f == null || f === "") continue;
      if (c.filter === "select") tests.push((p) => String(c.get(p)) === f);
      else if (c.filter === "text") { const s = f.toLowerCase(); tests.push((p) => String(c.get(p)).toLowerCase().includes(s)); }
      else { const t = numTest(f); if (t) tests.push((p) => t(c.get(p))); }
    }
    if (TWO && state.pair !== "all") tests.push((p) => change(p) === state.pair);
    const q = state.search.trim().toLowerCase();
    const hay = q ? haystack() : null;
    const out = [];
    P.forEach((p, i) => {
      if (hay && !hay[i].includes(q)) return;
      for (const t of tests) if (!t(p)) return;
      out.push(i);
    });
    if (state.sort) {
      const c = COLS.find((x) => x.key === state.sort);
      const key = (i) => c.get(P[i]);
      out.sort((x, y) => {
        const a = key(x), b = key(y);
        if (a === b) return x - y;
        if (a == null || a === "") return 1;
        if (b == null || b === "") return -1;
        const r = typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b), undefined, { numeric: true });
        return state.desc ? -r : r;
      });
    }
    return out;
  }

  // ---- table -----------------------------------------------------------------------------------
  const thead = document.querySelector("#problems thead");
  const tbody = document.querySelector("#problems tbody");
  function buildHead() {
    thead.textContent = "";
    if (TWO) {
      const row = el("tr", { class: "groups" });
      let span = 0;
      for (const c of COLS) if (c.group == null) span++;
      row.append(el("th", { colspan: span }));
      RUNS.forEach((run, i) => {
        const n = COLS.filter((c) => c.group === i).length;
        row.append(el("th", { colspan: n, class: "group g" + i }, LETTERS[i] + ": " + run.name));
      });
      thead.append(row);
    }
    const labels = el("tr", { class: "labels" });
    const filters = el("tr", { class: "filters" });
    for (const c of COLS) {
      const arrow = state.sort === c.key ? (state.desc ? " ▼" : " ▲") : "";
      labels.append(el("th", { class: c.group != null ? "g" + c.group : null, "data-col": c.key, title: "Sort by " + c.label,
        onclick: () => { if (state.sort === c.key) state.desc = !state.desc; else { state.sort = c.key; state.desc = false; } state.page = 0; buildHead(); render(); } },
      c.label + arrow));
      let input;
      if (c.filter === "select") {
        const counts = new Map();
        for (const p of P) { const v = String(c.get(p)); counts.set(v, (counts.get(v) || 0) + 1); }
        const values = [...counts.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
        input = el("select", { "data-filter": c.key }, el("option", { value: "" }, "all"),
          values.map((v) => el("option", { value: v }, ((c.names && c.names[v]) || v || "(none)") + " (" + counts.get(v) + ")")));
      } else {
        input = el("input", { type: "text", "data-filter": c.key, placeholder: c.filter === "num" ? ">=1" : "contains", size: c.filter === "num" ? 4 : 10 });
      }
      input.value = state.filters[c.key] || "";
      input.addEventListener(c.filter === "select" ? "change" : "input", () => {
        state.filters[c.key] = input.value;
        input.classList.toggle("invalid", c.filter === "num" && input.value.trim() !== "" && !numTest(input.value));
        state.page = 0;
        render();
      });
      filters.append(el("th", { class: c.group != null ? "g" + c.group : null }, input));
    }
    thead.append(labels, filters);
  }

  function cell(c, p) {
    const v = c.show ? c.show(p) : c.get(p);
    const cls = [c.cls, c.tone ? c.tone(p) : null, c.group != null ? "g" + c.group : null].filter(Boolean).join(" ");
    return el("td", { class: cls || null, title: c.cls === "ans" ? String(v ?? "") : null }, v == null ? "" : String(v));
  }

  function render() {
    const rows = matching();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const shown = rows.slice(state.page * PAGE, state.page * PAGE + PAGE);
    tbody.textContent = "";
    const frag = document.createDocumentFragment();
    for (const i of shown) {
      const p = P[i];
      const open = state.open.has(i);
      const tr = el("tr", { class: "row" + (open ? " open" : ""), "data-i": i, "data-id": p.id }, COLS.map((c) => cell(c, p)));
      tr.addEventListener("click", () => toggle(i));
      frag.append(tr);
      if (open) frag.append(el("tr", { class: "detail", "data-id": p.id }, el("td", { colspan: COLS.length }, detail(p))));
    }
    tbody.append(frag);
    const from = rows.length ? state.page * PAGE + 1 : 0;
    document.getElementById("count").textContent =
      `${from}–${state.page * PAGE + shown.length} of ${rows.length} matching (${P.length} problem${P.length === 1 ? "" : "s"})`;
    document.getElementById("page").textContent = `page ${state.page + 1} of ${pages}`;
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
    for (const b of document.querySelectorAll("#pairs button")) b.classList.toggle("on", b.dataset.pair === state.pair);
  }

  function toggle(i) {
    if (state.open.has(i)) state.open.delete(i);
    else state.open.add(i);
    render();
  }

  // ---- one problem -----------------------------------------------------------------------------
  function step(s) {
    const [kind, content, status, error, truncated] = s;
    if (kind === "c") return el("pre", { class: "code", html: highlight(content) });
    if (kind === "o") {
      const bad = status != null && status !== "ok";
      return el("div", { class: "output" + (bad ? " err" : "") },
        el("div", { class: "outlabel" }, "output", bad ? el("span", { class: "badge bad" }, error || status) : null,
          truncated ? el("span", { class: "badge warn" }, "cut to the output limit") : null),
        el("pre", { class: "out" + (bad ? " err" : "") }, content));
    }
    return el("div", { class: "text" }, content);
  }

  function sample(t, first) {
    const bits = [badge(t.o), " sample " + t.i, " · answer ", el("code", null, t.a == null ? "none" : t.a)];
    if (t.calls) bits.push(` · ${t.calls} code call${t.calls > 1 ? "s" : ""}`);
    if (t.ce) bits.push(el("span", { class: "errtext" }, ` · ${t.ce} code error${t.ce > 1 ? "s" : ""}`));
    if (t.cs != null) bits.push(` · critic ${t.cs}/10`);
    bits.push(` · ${t.tok} tokens · ${t.sec} s`);
    if (t.s && t.s !== "answered") bits.push(el("span", { class: "errtext" }, " · stopped: " + t.s.replace(/_/g, " ")));
    const body = [el("div", { class: "steps" }, t.st.map(step))];
    if (t.err) body.push(el("div", { class: "box bad" }, "model error: " + t.err));
    const grader = [el("b", null, "Grader: "), badge(t.o), " "];
    if (t.why) grader.push(t.why + (t.gm ? ` [${t.gm}]` : ""));
    if (t.am && t.am !== "none") grader.push(el("span", { class: "muted" }, ` · answer read by ${t.am}`));
    if (t.g) grader.push(el("span", { class: "muted" }, ` · graded by ${t.g}`));
    if (t.now && t.now !== t.o) grader.push(el("div", { class: "errtext" }, `Today's grader says ${OUTCOME[t.now] || t.now}: run \`mathagent rescore\` to re-grade the run.`));
    body.push(el("div", { class: "box grader" }, grader));
    if (t.cs != null || t.ct) {
      body.push(el("div", { class: "box critique" }, el("b", null, "Critic" + (t.cm ? ` (${t.cm})` : "") + ": "),
        t.cs != null ? `${t.cs}/10` : "no score" + (t.cpe ? ` (${t.cpe})` : ""),
        t.vs != null ? el("span", { class: "muted" }, ` · verifier ${t.vs}`) : null,
        t.ct ? el("pre", { class: "crit" }, t.ct) : null));
    }
    return el("details", { class: "sample", open: first, "data-sample": t.i }, el("summary", null, bits), body);
  }

  function runPanel(p, i) {
    const r = p.r[i];
    const head = el("h3", null, TWO ? LETTERS[i] + ": " : "", RUNS[i].name, " ");
    if (!r) return el("section", { class: "run g" + i }, head, el("p", { class: "muted" }, "This run does not hold the problem."));
    head.append(badge(r.o), " answer ", el("code", null, r.a == null ? "none" : r.a), ` · ${r.c}/${r.n} samples right`);
    const votes = r.v.length
      ? el("table", { class: "votes" }, el("tr", null, el("th", null, "vote class"), el("th", null, "votes"), el("th", null, "correct"), el("th", null, "critic")),
        r.v.map((v) => el("tr", { class: okClass(v[2]) }, el("td", null, el("code", null, v[0])), el("td", null, v[1]), el("td", null, yesNo(v[2])), el("td", null, v[3] == null ? "" : v[3]))))
      : el("p", { class: "muted" }, "No sample gave an answer.");
    return el("section", { class: "run g" + i }, head, votes, r.t.map((t, k) => sample(t, k === 0)));
  }

  function detail(p) {
    const q = el("div", { class: "question" }, el("div", { class: "label" }, p.id + (p.sj ? " · " + p.sj : "") + (p.lv ? " · level " + p.lv : "")),
      el("div", { class: "qtext" }, p.q), el("div", null, "Reference: ", el("code", null, p.ref == null ? "none" : p.ref)));
    return el("div", { class: "problem" }, q, el("div", { class: TWO ? "cols two" : "cols" }, RUNS.map((_, i) => runPanel(p, i))));
  }

  // ---- header, pairs, pager, links -------------------------------------------------------------
  function buildRuns() {
    const box = document.getElementById("runs");
    RUNS.forEach((r, i) => {
      const acc = r.metrics && r.metrics.accuracy != null ? ` · accuracy ${fmtPct(r.metrics.accuracy)} (per sample)` : "";
      box.append(el("div", { class: "runinfo g" + i }, el("b", null, (TWO ? LETTERS[i] + ": " : "") + r.name),
        ` · ${r.model || "model unknown"} · ${r.problems} problem${r.problems === 1 ? "" : "s"}` + (r.samples ? ` · ${r.samples} sample${r.samples > 1 ? "s" : ""} each` : "") +
        ` · voted answer right: ${fmtPct(r.accuracy)}` + acc + (r.policy ? ` · policy ${r.policy}` : ""),
        el("div", { class: "muted path" }, r.path)));
    });
  }
  function buildPairs() {
    if (!TWO) return;
    const counts = { all: P.length };
    for (const p of P) { const c = change(p); counts[c] = (counts[c] || 0) + 1; }
    const box = document.getElementById("pairs");
    for (const k of ["all", "fixed", "broken", "both right", "both wrong"]) {
      box.append(el("button", { type: "button", "data-pair": k, class: "pair", onclick: () => { state.pair = k; state.page = 0; render(); } },
        `${k} (${counts[k] || 0})`));
    }
  }
  function openFromHash() {
    const m = /problem=([^&]+)/.exec(location.hash);
    if (!m) return;
    const id = decodeURIComponent(m[1]);
    const i = P.findIndex((p) => p.id === id);
    if (i < 0) return;
    state.filters = {}; state.search = ""; state.pair = "all"; state.sort = null;
    document.getElementById("search").value = "";
    buildHead();
    state.page = Math.floor(i / PAGE);
    state.open.add(i);
    render();
    const row = tbody.querySelector(`tr.row[data-i="${i}"]`);
    if (row) row.scrollIntoView({ block: "start" });
  }

  let timer = null;
  document.getElementById("search").addEventListener("input", (e) => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.search = e.target.value; state.page = 0; render(); }, 120);
  });
  document.getElementById("clear").addEventListener("click", () => {
    state.filters = {}; state.search = ""; state.pair = "all"; state.page = 0;
    document.getElementById("search").value = "";
    buildHead(); render();
  });
  document.getElementById("prev").addEventListener("click", () => { state.page--; render(); });
  document.getElementById("next").addEventListener("click", () => { state.page++; render(); });
  window.addEventListener("hashchange", openFromHash);

  buildRuns();
  buildPairs();
  buildHead();
  render();
  openFromHash();
  window.mathagentView = { state, render, toggle, matching, highlight }; // for scripted checks and timing
  document.body.dataset.ready = "1";
  document.body.dataset.readyMs = String(Math.round(performance.now()));
})();
