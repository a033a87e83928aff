"""`python -m admin show` prints the environment; `python -m admin create-local` writes
admin/local.py from the template when it does not exist."""

import argparse
import os
import sys

from admin.environment import LocalFileError, _local_file_in_use, create_local_file, env_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("show", help="print every field, its value, source and state")
    commands.add_parser("create-local", help="create admin/local.py from the template if absent")
    args = parser.parse_args(argv)

    if args.command == "create-local":
        # Not through env_settings(): the file to create may not exist yet, or may be broken.
        local_file = _local_file_in_use(os.environ)
        created = create_local_file(local_file)
        print(f"{'created' if created else 'kept the existing'} {local_file}")
        return 0

    try:
        settings = env_settings()
    except LocalFileError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    print(f"local file: {settings.local_file}")
    rows = settings.describe()
    width = max(len(name) for name, *_ in rows)
    for name, value, source, state in rows:
        print(f"{name:<{width}}  {state:<14}  {value or '-'}  [{source}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
