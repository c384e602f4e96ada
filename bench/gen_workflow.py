#!/usr/bin/env python3
"""Writes a workflow with N statements to stdout, for the aoscheck benchmark.

The shape is what a generated workflow looks like in practice: steps that
read from an HTTP connector and refer to earlier steps (a chain with fan-in
every tenth step), lets that compute from them, and an effect per hundred
steps with an idempotency key. Usage: gen_workflow.py N > big.aos
"""
import sys


def main():
    n = int(sys.argv[1])
    out = sys.stdout
    out.write("aos 0.1\n\nconnector api = http { base_url: env(\"API_URL\") }\n\n")
    out.write("workflow big(run: string) {\n")
    kinds = []

    def ref(j):  # an int-valued expression for statement j
        return f"s{j}" if kinds[j] == "let" else f"s{j}.status"

    for i in range(n):
        kinds.append("let" if (i % 10 == 5 and i % 100 != 99) else "step")
        if i == 0:
            out.write('  step s0 = api.get("/items/0", query: {run: run})\n')
        elif i % 100 == 99:
            out.write(f'  effect s{i} = api.post("/items", json: {{n: {ref(i-1)}}}) {{\n'
                      f'    key "item-${{run}}-{i}"\n    retry 3 backoff 1s\n  }}\n')
        elif i % 10 == 5:
            out.write(f"  let s{i} = {ref(i-1)} + {ref(i-5)}\n")
        elif i % 10 == 9:
            refs = ", ".join(f"s{j}" for j in range(i - 9, i))
            out.write(f'  step s{i} = api.get("/join/{i}") after {refs}\n')
        else:
            out.write(f'  step s{i} = api.get("/items/{i}", query: {{prev: {ref(i-1)}}}) {{ timeout 5s }}\n')
    out.write(f"  output {{last: s{n-1}}}\n}}\n")


if __name__ == "__main__":
    main()
