"""Login timing: a wrong password for an existing account against an unknown address.

Creates one user in a fresh SQLite file with the production hash method (scrypt), posts
the real login form N times for each case (alternating, after one warm-up each, so the
per-process dummy hash is made before timing starts) and prints both medians, their
ratio and the machine's load. Before issue 9 an unknown address skipped the hash:
599 ms against 30 ms. The throttles are raised so that no attempt is refused.

Usage: .venv/bin/python benchmarks/login_timing.py [--rounds N]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exchange import create_app  # noqa: E402
from exchange.auth.services import create_user  # noqa: E402
from exchange.extensions import db  # noqa: E402

PASSWORD = "ein langes Passwort für die Messung"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({
            "TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench",
            "INSTANCE_PATH": folder, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/b.db",
            "INDEX_DIR": f"{folder}/index", "PASSWORD_HASH_METHOD": "scrypt",
            "THROTTLE_LIMITS": {"login_account": "100000 per minute",
                                "login_address": "100000 per minute"},
        })
        with app.app_context():
            db.create_all()
            create_user("anna@stuttgart.example", "Anna", password=PASSWORD)
            db.session.commit()
            client = app.test_client()
            cases = {"existing account, wrong password": "anna@stuttgart.example",
                     "unknown address": "nobody@stuttgart.example"}
            times = {name: [] for name in cases}
            for name, email in cases.items():  # warm-up: templates, dummy hash
                client.post("/login", data={"email": email, "password": "wrong password!"})
            for _ in range(args.rounds):
                for name, email in cases.items():
                    start = time.perf_counter()
                    client.post("/login", data={"email": email, "password": "wrong password!"})
                    times[name].append((time.perf_counter() - start) * 1000)
            db.engine.dispose()
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"load average: {' '.join(f'{value:.2f}' for value in os.getloadavg())}, "
          f"{os.cpu_count()} cores, {args.rounds} rounds each")
    for name, value in medians.items():
        print(f"  {name:34} median {value:7.1f} ms")
    known, unknown = medians.values()
    print(f"  ratio existing/unknown: {known / unknown:.2f} (1.00 = no difference)")


if __name__ == "__main__":
    main()
