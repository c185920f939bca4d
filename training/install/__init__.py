"""Installing the stack (tools/install.sh's Python): plan (how MMCV's ops are built here, if at all), check (the
installed ops and stack, the install's last lines), ext_diagnosis (why a compiled _ext crashes a Python)."""
