"""``python -m dwm_gym.cli``: the ``dwm-gym`` command (e.g. under torchrun)."""

import sys

from dwm_gym.cli import main

sys.exit(main())
