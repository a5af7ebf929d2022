"""`python -m bot.cli`: the same as the `mutual-aid-bot` command."""

import sys

from bot.cli import main

sys.exit(main())
