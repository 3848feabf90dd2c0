"""Tables for papers (`paper_tables`): named-colors.html and named-colors.tex beside report.md, on runs made
by hand (test_report.make_run); the real `excolor run` is checked in test_run.py. No pdflatex here, so the
LaTeX is checked for its structure (`check_latex`); where pdflatex exists it is also compiled."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ex_color.reports.paper_tables import HTML_FILE, LATEX_FILE, latex_escape, named_color_table
from ex_color.reports.results import load_run
from ex_color.reports.run_report import write_run_report, write_run_report_files

from test_report import make_run

BEGIN_END = re.compile(r"\\(begin|end)\{([^}]*)\}")
UNESCAPED_AMP = re.compile(r"(?<!\\)&")


def strip_comments(tex: str) -> list[str]:
    return [re.sub(r"(?<!\\)%.*", "", line) for line in tex.splitlines()]


def braces_balanced(line: str) -> bool:
    depth = 0
    for match in re.finditer(r"\\.|[{}]", line):
        token = match.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def tabular_rows(tex: str) -> tuple[str, list[str]]:
    """(column spec, the lines that are rows) of the one tabular."""
    spec = re.search(r"\\begin\{tabular\}\{([^}]*)\}", tex).group(1)
    body = tex.split(r"\begin{tabular}", 1)[1].split(r"\end{tabular}", 1)[0]
    rows = [line.strip() for line in body.splitlines() if line.strip().endswith(r"\\")]
    return spec, rows


def cells(row: str) -> int:
    """The columns a row spans (a \\multicolumn{n} counts n)."""
    parts = UNESCAPED_AMP.split(row.removesuffix(r"\\"))
    return sum(int(m.group(1)) if (m := re.search(r"\\multicolumn\{(\d+)\}", p)) else 1 for p in parts)


def check_latex(tex: str) -> None:
    """Balanced environments and braces, booktabs rules in order, every row as wide as the column spec,
    and a \\definecolor for every swatch."""
    lines = strip_comments(tex)
    stack = []
    for line in lines:
        assert braces_balanced(line), line
        for kind, env in BEGIN_END.findall(line):
            if kind == "begin":
                stack.append(env)
            else:
                assert stack and stack.pop() == env, f"\\end{{{env}}} without its \\begin"
    assert not stack, f"unclosed: {stack}"
    body = "\n".join(lines)
    positions = [body.index(rule) for rule in (r"\toprule", r"\midrule", r"\bottomrule")]
    assert positions == sorted(positions) and all(body.count(r) == 1 for r in (r"\toprule", r"\bottomrule"))
    assert body.index(r"\begin{tabular}") < positions[0] and positions[-1] < body.index(r"\end{tabular}")
    spec, rows = tabular_rows(body)
    assert rows and all(cells(row) == len(spec) for row in rows), (spec, rows)
    defined = set(re.findall(r"\\definecolor\{([^}]*)\}", body))
    used = re.findall(r"\\ncswatch\{([^}]*)\}", body)
    assert used and set(used) <= defined
    assert all(re.fullmatch(r"[A-Za-z]+", name) for name in defined)


def parse_html_rows(text: str) -> dict[str, list[float]]:
    """colour name -> the numbers of its row (minus signs made ASCII)."""
    rows = {}
    for row in re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", text):
        name = re.search(r"</span>(.*?)</th>", row).group(1)
        numbers = re.findall(r"<td[^>]*>([^<]*)</td>", row)
        rows[name] = [float(n.replace("−", "-")) for n in numbers]
    return rows


def check_html(text: str, colours: int) -> None:
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert text.count('<span class="swatch"') == colours
    for network in ("http:", "https:", "//", "<script", "<link", "@import", "url(", "src="):
        assert network not in text, network
    assert text.count("<table>") == 1


def test_tables_beside_the_report_match_metrics_json(tmp_path):
    run = make_run(tmp_path / "r", 0, 0.05, ratio=4.0)
    written = write_run_report_files(run)
    assert [p.name for p in written] == [HTML_FILE.name, LATEX_FILE.name, "report.md"]
    html = (run / HTML_FILE).read_text()
    check_html(html, 1)
    metrics = json.loads((run / "interventions" / "repulsion" / "metrics.json").read_text())
    red = metrics["named_colors"]["red"]
    assert parse_html_rows(html) == {"red": [round(red["baseline"], 3), round(red["intervened"], 3), 0.09]}
    assert "+0.090" in html and 'style="background:#ff0000"' in html
    assert html.count('colspan="2"') == 1 and ">repulsion</th>" in html and ">none<" not in html
    tex = (run / LATEX_FILE).read_text()
    check_latex(tex)
    # ×10⁻³ to 3 decimals: 0.01 → 10.000, 0.1 → 100.000, Δ 0.09 → +90.000
    assert r"MSE $\times 10^{-3}$" in tex and "10.000" in tex and "100.000" in tex and "$+90.000$" in tex
    assert r"\definecolor{ncred}{rgb}{1,0,0}" in tex and r"\multicolumn{2}{c}{repulsion}" in tex
    report = (run / "report.md").read_text()
    assert "[named-colors.html](named-colors.html)" in report and "[named-colors.tex](named-colors.tex)" in report


def test_no_intervention_no_tables(tmp_path):
    run = make_run(tmp_path / "r", 0, 0.05)
    assert write_run_report(run).name == "report.md"
    assert not (run / HTML_FILE).exists() and not (run / LATEX_FILE).exists()
    assert named_color_table(load_run(run)) is None


def test_names_are_escaped_in_both(tmp_path):
    run = make_run(tmp_path / "r", 0, 0.05, ratio=4.0)
    for kind in ("none", "repulsion"):
        path = run / "interventions" / kind / "metrics.json"
        data = json.loads(path.read_text())
        data["named_colors"] = {
            "red & <b>bold</b>": data["named_colors"]["red"],
            "50% off_{x}~#$^\\": {**data["named_colors"]["red"], "rgb": [0.2, 0.4, 0.6]},
            "red__": data["named_colors"]["red"],  # same letters as the first: a distinct xcolor name
        }
        data["intervention"]["kind"] = kind
        path.write_text(json.dumps(data))
    (run / ".hydra" / "config.yaml").write_text(
        (run / ".hydra" / "config.yaml").read_text().replace("name: demo", "name: 'a_b & <c>'")
    )
    write_run_report(run)
    html = (run / HTML_FILE).read_text()
    check_html(html, 3)
    assert "red &amp; &lt;b&gt;bold&lt;/b&gt;" in html and "<b>" not in html and "a_b &amp; &lt;c&gt;" in html
    assert 'style="background:#336699"' in html
    tex = (run / LATEX_FILE).read_text()
    check_latex(tex)
    assert latex_escape("50% off_{x}~#$^\\") == (
        r"50\% off\_\{x\}\textasciitilde{}\#\$\textasciicircum{}\textbackslash{}"
    )
    assert latex_escape("50% off_{x}~#$^\\") in tex and r"red \& <b>bold</b>" in tex and r"a\_b \& <c>" in tex
    assert len(set(re.findall(r"\\definecolor\{([^}]*)\}", tex))) == 3


@pytest.mark.skipif(
    shutil.which("pdflatex") is None, reason="pdflatex is not installed: LaTeX checked for structure only"
)
def test_latex_compiles(tmp_path):
    run = make_run(tmp_path / "r", 0, 0.05, ratio=4.0)
    write_run_report(run)
    doc = tmp_path / "doc.tex"
    doc.write_text(
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage[table]{xcolor}\n\\begin{document}\n"
        f"\\input{{{(run / LATEX_FILE).as_posix()}}}\n\\end{{document}}\n"
    )
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert Path(tmp_path / "doc.pdf").is_file()
