"""What a person looks at in a browser: the preview cards (``tagcast preview --html``) and the local dashboard
(``tagcast web``). Pages are Jinja2 templates shipped in ``templates/``, rendered with autoescape on."""
