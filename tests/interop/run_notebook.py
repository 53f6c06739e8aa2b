"""Executes the code cells of an example notebook against an output folder, so the notebook
shipped in notebooks/ keeps working as the tables evolve.

usage: run_notebook.py NOTEBOOK.ipynb OUTPUT_DIR
"""
import json
import sys


def main(nb_path: str, out: str) -> int:
    nb = json.load(open(nb_path))
    env: dict = {}
    n = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"]).replace('"output/', f'"{out.rstrip("/")}/')
        exec(compile(src, f"{nb_path}[{n}]", "exec"), env)
        n += 1
    print(f"notebook: {n} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
