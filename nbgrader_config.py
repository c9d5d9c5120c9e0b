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
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# Feedback shows each test's message and hint, never the hidden tests' code.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
