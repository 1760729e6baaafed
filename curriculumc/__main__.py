"""``python -m curriculumc`` (also ``torchrun -m curriculumc run SPEC``)."""

import sys

from curriculumc.cli import main

sys.exit(main())
