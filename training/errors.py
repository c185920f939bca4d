"""Errors for people: one paragraph naming the file or setting at fault and the fix, a non-zero exit, and the
traceback only when asked for (--debug or ADE_SEG_DEBUG=1)."""
import os
import sys


class UserError(Exception):
    """A problem the user can fix; printed as one paragraph without a traceback."""


def exit_code(action, debug=False):
    """Runs action() for a command-line tool: a UserError becomes one paragraph on stderr and exit code 2."""
    try:
        return action()
    except UserError as error:
        if debug or os.environ.get('ADE_SEG_DEBUG'):
            raise
        print(f'error: {error}', file=sys.stderr)
        return 2
