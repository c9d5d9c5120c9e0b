"""nbgrader's own command line, with the course's speed-up (no ``alembic`` subprocess per new
gradebook): ``python -m autograder.nbgrader_cli generate_assignment 00-python-basics``."""

import sys

from autograder.course import speed_up_nbgrader, tools_on_path

if __name__ == "__main__":
    tools_on_path()
    speed_up_nbgrader()
    from nbgrader.apps.nbgraderapp import main

    sys.exit(main())
