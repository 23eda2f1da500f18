"""Data assurance: the rule registry, GX suites and checks, LA feedback reports and the template."""
