"""``python -m sslm_utils.cli``: the same program as the installed ``sslm`` script."""

import sys

from . import main

sys.exit(main())
