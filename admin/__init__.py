"""The toolkit's environment: the paths in admin/local.py, shared by ltr and pytracking."""
