"""The agent workspace: server-rendered pages under /ui/ whose every action goes through invoke().

app.py builds the Starlette app; auth.py holds sign-in, sessions and CSRF; cases.py the case
list, case page and new-case form; admin.py the administration pages; web.py the helpers they
share (rendering, forms, errors); casefields.py turns fields and values into form controls.
"""
