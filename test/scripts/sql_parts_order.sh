#!/usr/bin/env bash
# Each SQL part uses only earlier parts: for every src/*.sql part of the install script, in the
# order of SQL_PARTS in the Makefile (then crm_demo's DEMO_PARTS, which may use all of crm), every
# @extschema@.<name> it mentions, function bodies included, is created by the part itself or an
# earlier one. So the parts stay layered (a capability builds only on those before it) and any
# prefix of SQL_PARTS is a working install.
#
# What counts as creating <name>: CREATE [OR REPLACE] TABLE, VIEW, MATERIALIZED VIEW, FUNCTION,
# PROCEDURE, AGGREGATE, TYPE, DOMAIN, SEQUENCE, OPERATOR CLASS/FAMILY @extschema@.<name>, and the
# sequence <table>_<column>_seq of a serial column of a table the part creates, and the constraints
# and indexes it names (CONSTRAINT <name>, CREATE INDEX <name>: SET CONSTRAINTS qualifies them).
# Line comments are ignored; operators are written OPERATOR(@extschema@.=), not matched as names.
# A false positive (a name created in a way not listed here) shows as "not ok" naming it: teach
# the patterns above rather than reorder parts.
set -euo pipefail
cd "${CRM_ROOT:-$(dirname "$0")/../..}"

python3 - <<'PY'
import re, sys

make = open("Makefile").read()
def parts(var):
    m = re.search(r"^%s\s*=\s*\\\n((?:.*\\\n)*.*)$" % var, make, re.M)
    return re.findall(r"src/[\w/]+\.sql", m.group(1)) if m else []
crm_parts, demo_parts = parts("SQL_PARTS"), parts("DEMO_PARTS")
if not crm_parts:
    print("1..1\nnot ok 1 - SQL_PARTS found in the Makefile"); sys.exit(0)

CREATE = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW|MATERIALIZED\s+VIEW|FUNCTION|PROCEDURE|AGGREGATE|"
                    r"TYPE|DOMAIN|SEQUENCE|OPERATOR\s+CLASS|OPERATOR\s+FAMILY)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                    r"@extschema@\.(\w+)", re.I)
# a table's definition: from its CREATE TABLE to the next CREATE
TABLE = re.compile(r"\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?@extschema@\.(\w+)\s*\((.*?)(?=\bCREATE\b|\Z)", re.I | re.S)
SERIAL = re.compile(r"^\s*(\w+)\s+(?:big|small)?serial\b", re.I | re.M)
# constraints and indexes: schema-qualified only where named, e.g. SET CONSTRAINTS @extschema@.<name>
NAMED = re.compile(r"\b(?:CONSTRAINT|INDEX(?:\s+IF\s+NOT\s+EXISTS)?)\s+(\w+)", re.I)
REF = re.compile(r"@extschema@\.(\w+)")

def strip_comments(text):
    return "\n".join(re.sub(r"(^|\s)--.*$", r"\1", line) for line in text.split("\n"))

created_before = set()
results = []
for path in crm_parts + demo_parts:
    text = strip_comments(open(path).read())
    own = set(CREATE.findall(text)) | set(NAMED.findall(text))
    for table, body in TABLE.findall(text):
        own |= {"%s_%s_seq" % (table, column) for column in SERIAL.findall(body)}
    missing = sorted(set(REF.findall(text)) - own - created_before)
    results.append((path, missing))
    created_before |= own

print("1..%d" % len(results))
for n, (path, missing) in enumerate(results, 1):
    if missing:
        print("not ok %d - %s uses only itself and earlier parts" % (n, path))
        for name in missing:
            print("# @extschema@.%s is not created by %s or an earlier part" % (name, path))
    else:
        print("ok %d - %s uses only itself and earlier parts" % (n, path))
PY
