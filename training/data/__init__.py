"""Dataset builders: trajectories in, SFT / RFT / DPO / critic / value examples out, with reports."""
