#!/usr/bin/env python3
"""Package.swift lists what each target imports, no more and no less (STYLE.md).

For every Swift target in Package.swift, compares the modules its sources import with the
dependencies it declares (a product counts by its module name) and fails on any difference.
System modules (Foundation, Dispatch, Glibc, Testing, ...) need no declaration.

usage: scripts/check-imports.py [package directory]
"""
import os, re, sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
SYSTEM = {"Foundation", "FoundationEssentials", "FoundationNetworking", "Dispatch", "Glibc", "Musl", "Darwin",
          "Testing", "XCTest", "Synchronization", "os", "_Concurrency", "Observation", "PackageDescription"}

package = open(os.path.join(ROOT, "Package.swift")).read()
# Each target: .target( / .executableTarget( / .testTarget( up to its matching parenthesis.
targets = []
for match in re.finditer(r"\.(target|executableTarget|testTarget)\(", package):
    depth, index = 1, match.end()
    while depth:
        depth += {"(": 1, ")": -1}.get(package[index], 0)
        index += 1
    body = package[match.end():index - 1]
    name = re.search(r'name:\s*"([^"]+)"', body).group(1)
    path = re.search(r'path:\s*"([^"]+)"', body)
    kind = match.group(1)
    default = os.path.join("Tests" if kind == "testTarget" else "Sources", name)
    declared = set()
    deps = re.search(r"dependencies:\s*\[(.*?)\]\s*(,|$)", body, re.S)
    if deps:
        text = deps.group(1)
        declared |= set(re.findall(r'\.product\(\s*name:\s*"([^"]+)"', text))
        text = re.sub(r"\.product\([^)]*\)", "", text)
        declared |= set(re.findall(r'"([^"]+)"', text))
    targets.append((name, path.group(1) if path else default, declared))

executables = set(re.findall(r'\.executableTarget\(\s*name:\s*"([^"]+)"', package))
# Imports start a line (an indented "import" is inside a string or an #if for a system module).
pattern = re.compile(r"^(?:@testable\s+|@_spi\([^)]*\)\s+)?(?:(?:public|package|internal|private|fileprivate)\s+)?"
                     r"import\s+(?:(?:struct|class|enum|protocol|func|typealias|var|let)\s+)?([A-Za-z_][A-Za-z0-9_]*)",
                     re.M)
failures = []
for name, path, declared in targets:
    directory = os.path.join(ROOT, path)
    if not os.path.isdir(directory):
        continue
    imported = set()
    for root, _, files in os.walk(directory):
        for file in files:
            if file.endswith(".swift"):
                imported |= set(pattern.findall(open(os.path.join(root, file)).read()))
    if not imported and not any(f.endswith(".swift") for _, _, fs in os.walk(directory) for f in fs):
        continue  # a C target
    imported -= SYSTEM | {name}
    # A test may depend on an executable only to have it built (it runs it; it cannot import it).
    missing, unused = sorted(imported - declared), sorted(declared - imported - executables)
    if missing:
        failures.append(f"{name}: imports {', '.join(missing)} without declaring it in Package.swift")
    if unused:
        failures.append(f"{name}: declares {', '.join(unused)} but never imports it")

if failures:
    print("\n".join(failures))
    raise SystemExit(1)
print(f"imports match Package.swift for {len(targets)} targets")
