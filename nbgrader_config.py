# nbgrader's configuration for this course. nbgrader, its JupyterLab extension and the
# course's own command line (python -m autograder) all read this one file.
c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "fromscratch"
c.CourseDirectory.source_directory = "solutions"   # the single source of truth
c.CourseDirectory.release_directory = "notebooks"  # the learner versions, committed
c.CourseDirectory.db_url = "sqlite:///gradebook.db"  # kept out of git (.gitignore)

# What a learner sees in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Autograding runs the smoke budget (nbgrader sets NBGRADER_EXECUTION); a cell gets this long.
c.Execute.timeout = 120          # cells that are not tests; tests get GuardedExecute.test_cell_timeout
c.Execute.interrupt_on_timeout = True

# Feedback shows each test's message and hint, never the hidden tests' code.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# Grading runs each submission's kernel in a sandbox, with per-cell time limits, restarts after a
# dead or stuck kernel, integrity checks before each test, and warnings that cost nothing
# (autograder/execution.py). Where no sandbox can start, grading refuses unless
# FROMSCRATCH_UNSAFE_GRADING=1.
c.Autograde.autograde_preprocessors = [
    "autograder.execution.GuardedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.GuardedExecute.test_cell_timeout = 60
# Pasted or relabelled cells get their identity back instead of sinking the whole notebook.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "autograder.sanitize.RepairCellIdentity",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
