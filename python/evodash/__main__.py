"""python -m evodash import-fmd DB [--into URL] [--service NAME] [--force]"""
import argparse
import sys

from . import _evodash


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m evodash")
    sub = p.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import-fmd", help="import a Flask-MonitoringDashboard SQLite database")
    imp.add_argument("db", help="the Flask-MonitoringDashboard database file")
    imp.add_argument("--into", default="sqlite:///evodash.db",
                     help="the evodash store (default sqlite:///evodash.db)")
    imp.add_argument("--service", help="the service to import into (default: the store's only "
                     "service, else one named after the file)")
    imp.add_argument("--force", action="store_true",
                     help="import a database imported into this store before all the same "
                     "(its requests are then counted twice)")
    args = p.parse_args(argv)
    db = args.db[len("sqlite:///"):] if args.db.startswith("sqlite:///") else args.db
    try:
        n = _evodash.import_fmd(db, args.into, args.service, args.force)
    except _evodash.EvodashError as e:
        print("evodash import-fmd: %s" % e, file=sys.stderr)
        return 3 if getattr(e, "already_imported", False) else 1
    print("imported %(endpoints)d endpoints, %(versions)d versions, %(requests)d requests, "
          "%(outliers)d outliers, %(profile_lines)d profiler lines" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
