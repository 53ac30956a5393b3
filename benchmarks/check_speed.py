"""`check` and `run` on a migration-sized file, beside a plain one, in one run.

    python benchmarks/check_speed.py [--rows 150000] [--run-rows 20000] [--profile]

The migration file: 150,000 rows, every field through transforms (trim,
lower, title, collapse_spaces, digits, zfill), a `Tags` list feeding six
interests, dates in two formats and a date-time with its own format, a
select corrected by `fix_case`, 5% of the people twice (another case, another
phone) with `duplicates: last`. The plain file: the contacts file of
`scale.py` with `mappings/contacts.yaml`, the same number of rows.

- `check` rows/s from each child's wall time (start-up included), the best
  of `--repeat` runs of each, alternately, and their ratio. Target: the
  migration within 2x of the plain rate (ratio >= 0.5).
- `run` CPU per row: a real run of the first `--run-rows` rows of each file
  into a sandbox without latency (16 workers); the importer's CPU seconds
  (user + system, from the kernel) per 1,000 rows, and their ratio. Target:
  the migration's CPU per row within 2x of the plain file's.
- `--profile`: where `check` of the migration spends its time, by py-spy
  (`pip install py-spy`; sampled, own time per function) or, without it,
  cProfile.
"""
from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from _common import (
    MAPPING,
    SCHEMA,
    ChildRun,
    _env,
    cached_file,
    header,
    importer_run,
    results_statuses,
    run_child,
    sandbox,
    work_dir,
    write_file,
    write_rows,
)

RATIO_TARGET = 0.5
TAGS = ["Newsletter", "Football", "Tennis", "Cycling", "Running", "Hockey"]

MIGRATION_SCHEMA = """\
databases:
  - id: 1
    name: Migration
    fields:
      - {name: email, type: email, length: 100}
      - {name: firstname, type: text, length: 50}
      - {name: lastname, type: text, length: 50}
      - {name: phone, type: text, length: 30}
      - {name: birthdate, type: empty_date}
      - {name: member_since, type: datetime}
      - {name: city, type: text, length: 60}
      - {name: country, type: select, choices: [NL, BE, DE, FR, GB]}
      - {name: optin, type: select, choices: ["yes", "no"]}
      - {name: customer_number, type: text, length: 20}
      - {name: score, type: integer}
      - {name: source, type: text, length: 40}
    interests: [newsletter, football, tennis, cycling, running, hockey]
"""

MIGRATION_MAPPING = """\
database: 1
key: email
duplicates: last
fields:
  email: {column: E-mail, transform: [trim, lower], validate: email, required: true}
  firstname: {column: Voornaam, transform: [trim, collapse_spaces, title]}
  lastname: {column: Achternaam, transform: [collapse_spaces]}
  phone: {column: Telefoon, transform: [digits]}
  birthdate: {column: Geboortedatum, date_format: ["%d-%m-%Y", "%d/%m/%Y"]}
  member_since: {column: Lid sinds, date_format: "%d-%m-%Y %H:%M"}
  city: {column: Plaats, transform: [trim, collapse_spaces, title]}
  country: {column: Land, transform: [trim], fix_case: true}
  optin: {column: Opt-in, transform: [trim, lower, {replace: {ja: "yes", nee: "no"}}]}
  customer_number: {column: Klantnummer, transform: [trim, {zfill: 6}]}
  score: {column: Score, transform: [trim, {default: "0"}]}
  source: {value: migration-2026}
interests:
""" + "".join(f"  {t.lower()}: {{column: Tags, contains: {t}, separator: \";\"}}\n" for t in TAGS)

HEADERS = ["Klantnummer", "E-mail", "Voornaam", "Achternaam", "Telefoon", "Geboortedatum", "Lid sinds", "Plaats",
           "Land", "Opt-in", "Score", "Tags"]
FIRST = ["anna", "sem", "Chloé", "LUCAS", "fleur", "Piet", "zoë", "Ingrid", "noah", "Émile"]
LAST = ["de  Jong", "Smit", "Meijer ", "Peeters", "van der  Berg", "Çelik", "Lefèvre", "Dubois"]
CITIES = [" amsterdam", "UTRECHT", "berlin ", "Brussel", "leuven", "London", "düsseldorf"]


def migration_row(i: int, rng: random.Random, email: str | None = None) -> list[str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    born = f"{rng.randint(1, 28):02d}{rng.choice('-/')}{rng.randint(1, 12):02d}"
    born = born + born[2] + str(rng.randint(1940, 2005))
    tags = ";".join(rng.sample(TAGS, rng.randint(0, 4)))
    return [f" {i}", email or f" Contact.{i}@Mail{i % 40}.Example.com ", first, last,
            f"+31 (0)6-{rng.randrange(10**8):08d}", born,
            f"{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-20{rng.randint(10, 25)} {rng.randint(0, 23):02d}:"
            f"{rng.randint(0, 59):02d}", rng.choice(CITIES), rng.choice(["nl", "BE", "de", "FR", "gb"]),
            rng.choice(["Ja", "nee", "YES", "no"]), rng.choice(["", "7", " 42", "100"]), tags]


def migration_file(rows: int, directory: Path) -> Path:
    path = directory / f"migration-{rows}.csv"
    if not path.exists():
        rng = random.Random(17)
        lines = []
        for i in range(1, rows + 1):
            again = i > 20 and rng.random() < 0.05   # the same person again, written differently
            earlier = rng.randrange(1, i - 10) if again else None
            email = f"contact.{earlier}@MAIL{earlier % 40}.example.com" if earlier is not None else None
            lines.append(migration_row(i, rng, email))
        write_rows(path.with_suffix(".part"), HEADERS, lines).rename(path)
    return path


def check(file: Path, mapping: Path, schema: Path):
    return run_child([sys.executable, "-m", "importer", "check", str(file), "--mapping", str(mapping),
                      "--schema", str(schema), "--offline"])


def head_of(file: Path, rows: int, out: Path) -> Path:
    with open(file, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        for n, line in enumerate(src):
            if n > rows:
                break
            dst.write(line)
    return out


def profile(file: Path, mapping: Path, schema: Path, tmp: Path) -> None:
    args = ["-m", "importer", "check", str(file), "--mapping", str(mapping), "--schema", str(schema), "--offline"]
    if shutil.which("py-spy"):
        raw = tmp / "profile.txt"
        subprocess.run(["py-spy", "record", "--format", "raw", "--rate", "200", "--output", str(raw), "--",
                        sys.executable, *args], cwd=tmp, env=_env(), capture_output=True, check=False)
        own: Counter[str] = Counter()
        total = 0
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            total += int(count)
            frame = stack.split(";")[-1]
            own[frame.split(" (")[0] + " (" + frame.split("(")[-1].split(":")[0].rsplit("/", 1)[-1] + ")"] += int(count)
        print(f"py-spy, `check` of the migration file, own time per function ({total:,} samples):")
        for name, count in own.most_common(15):
            print(f"  {count / total:6.1%}  {name}")
    else:
        done = subprocess.run([sys.executable, "-m", "cProfile", "-s", "tottime", *args], cwd=tmp, env=_env(),
                              capture_output=True, text=True)
        print("cProfile, `check` of the migration file (py-spy not installed):")
        print("\n".join(done.stdout.splitlines()[-60:][:30]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=150_000)
    p.add_argument("--run-rows", type=int, default=20_000)
    p.add_argument("--profile", action="store_true", help="where check spends its time (py-spy or cProfile)")
    p.add_argument("--skip-run", action="store_true", help="only check")
    p.add_argument("--repeat", type=int, default=3, help="checks of each file, alternately; the best counts")
    args = p.parse_args()
    header(f"check and run on a migration-sized file ({args.rows:,} rows) beside a plain one")
    files = work_dir("files")
    migration = migration_file(args.rows, files)
    plain = cached_file("csv", args.rows, files)
    with tempfile.TemporaryDirectory() as tmp_text:
        tmp = Path(tmp_text)
        schema = write_file(tmp / "migration-schema.yaml", MIGRATION_SCHEMA)
        mapping = write_file(tmp / "migration.yaml", MIGRATION_MAPPING)
        print(f"{'file':>10} {'command':>8} {'rows/s':>8} {'CPU ms/1k rows':>14} {'peak MB':>8}  outcome")
        rates = {}
        # alternately, --repeat times: the best of each (the machine's other work only slows a run down)
        best: dict[str, ChildRun] = {}
        for _ in range(args.repeat):
            for name, file, m, s in (("plain", plain, MAPPING, SCHEMA), ("migration", migration, mapping, schema)):
                done = check(file, m, s)
                if done.returncode not in (0, 1):
                    sys.exit(done.stderr)
                if name not in best or done.wall < best[name].wall:
                    best[name] = done
        for name, done in best.items():
            rates[name] = args.rows / done.wall
            summary = " ".join(line.strip() for line in done.stdout.splitlines()[1:4])
            print(f"{name:>10} {'check':>8} {rates[name]:>8,.0f} {done.cpu / args.rows * 1e6:>14,.0f} "
                  f"{done.max_rss_mb:>8,.0f}  {summary}")
        ratio = rates["migration"] / rates["plain"]
        print(f"check: the migration at {ratio:.2f}x the plain rate "
              f"({'met' if ratio >= RATIO_TARGET else 'MISSED'}, target >= {RATIO_TARGET})")
        if not args.skip_run:
            cpu_per_row = {}
            for name, file, m in (("plain", plain, MAPPING), ("migration", migration, mapping)):
                part = head_of(file, args.run_rows, tmp / f"{name}-{args.run_rows}.csv")
                with sandbox("--schema", str(schema if name == "migration" else SCHEMA)) as sb:
                    run = importer_run(part, sb.api_url, tmp / f"{name}.results.csv", mapping=m)
                print(f"{name:>10} {'run':>8} {args.run_rows / run.wall:>8,.0f} "
                      f"{run.cpu / args.run_rows * 1e6:>14,.0f} {run.max_rss_mb:>8,.0f}  "
                      f"{results_statuses(tmp / f'{name}.results.csv')}")
                cpu_per_row[name] = run.cpu / args.run_rows
            cost = cpu_per_row["migration"] / cpu_per_row["plain"]
            print(f"run: the migration's CPU per row at {cost:.2f}x the plain file's "
                  f"({'met' if cost <= 1 / RATIO_TARGET else 'MISSED'}, target <= {1 / RATIO_TARGET:g}x)")
        if args.profile:
            profile(migration, mapping, schema, tmp)


if __name__ == "__main__":
    main()
