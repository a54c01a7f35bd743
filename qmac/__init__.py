"""The ``qmac`` command: every target of the Makefile as one installable command
(``pip install git+<repo>`` gives it to any repository), with the same options as the make
variables and the same exit statuses."""
