"""The script the grading sandbox runs: `python -I <ctlab's parent>/ctlab/grading/worker/__main__.py`.

Isolated mode (-I) leaves the script's folder off sys.path, so the folder holding the ctlab
package is put first (in bubblewrap mode that is /opt/ctlab, where only the worker's own
files are bound); then the zygote starts. Nothing happens when this module is imported.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    from ctlab.grading.worker.zygote import main

    main(sys.argv[1:])
