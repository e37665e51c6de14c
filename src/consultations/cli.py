"""Command line of the suite: the pipeline, its stages, the review round trip, agreement.

``consultations run | ingest | code | topics | compare | evidence | export``,
``consultations review export | import FILE`` and ``consultations agreement``.

The CLI only parses arguments and composes package functions; it holds no analysis logic.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from consultations.core.engine import ENGINES
from consultations.core.errors import InputError
from consultations.pipeline import STAGES
from consultations.project import Project

__all__ = ["main"]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None,
                   help="dossier de données (transcripts/, coded/, consultations.toml ; "
                        "défaut : data/)")
    p.add_argument("--out", type=Path, default=None,
                   help="dossier des résultats (défaut : reports/)")
    p.add_argument("--settings", type=Path, default=None,
                   help="fichier de réglages (défaut : <données>/consultations.toml)")
    p.add_argument("--seed", type=int, default=None, help="graine (l'emporte sur le fichier)")
    p.add_argument("--n-topics", type=int, default=None,
                   help="nombre de thèmes émergents (l'emporte sur le fichier)")
    p.add_argument("--embedding", default=None,
                   help="plongement des thèmes (l'emporte sur le fichier)")
    p.add_argument("--engine", choices=ENGINES, default=None,
                   help="où tourne l'analyse spaCy : local (processus de cette machine, "
                        "défaut) ou dask (l'emporte sur le fichier)")
    p.add_argument("--scheduler", default=None,
                   help="adresse d'un ordonnanceur Dask (tcp://hôte:8786, implique "
                        "--engine dask) ; sans elle, --engine dask démarre une grappe locale")
    p.add_argument("--workers", type=int, default=None,
                   help="nombre de processus de travail (défaut : autant que de cœurs)")
    p.add_argument("--force", action="store_true",
                   help="relancer l'étape demandée même si son cache est à jour")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="consultations",
        description="Analyse qualitative d'ateliers de consultation (transcriptions → note).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="toute la chaîne, des transcriptions à la note")
    _common(p)
    for stage in STAGES:
        p = sub.add_parser(stage, help=f"l'étape « {stage} » (les étapes précédentes sont "
                                       "relancées si elles ne sont pas à jour)")
        _common(p)
    p = sub.add_parser("init", help="écrire le fichier de réglages avec ses valeurs par défaut")
    _common(p)
    p = sub.add_parser("status", help="quelles étapes sont à jour")
    _common(p)
    p = sub.add_parser("review", help="le classeur de revue des analystes")
    rsub = p.add_subparsers(dest="action", required=True)
    pe = rsub.add_parser("export", help="écrire un nouveau classeur de revue (XLSX)")
    _common(pe)
    pi = rsub.add_parser("import", help="relire un classeur de revue rempli")
    pi.add_argument("file", type=Path)
    _common(pi)
    p = sub.add_parser("agreement", help="rapport d'accord inter-codeurs")
    _common(p)
    return parser


def _n(value) -> str:
    """French thousands separator (narrow no-break space)."""
    return f"{int(value):,}".replace(",", "\u202f")


def _summary_line(summary: dict) -> str:
    lines = ["", "Résumé de l'exécution"]
    for name, st in summary["stages"].items():
        state = "cache" if st.get("cached") else f"{st.get('seconds', 0):.1f} s"
        tables = ", ".join(f"{k}={v}" for k, v in (st.get("tables") or {}).items())
        lines.append(f"  {name:<9} {state:>8}  {tables}")
    ing = summary["stages"].get("ingest", {})
    if "segments" in ing:
        lines.append(f"  corpus : {ing.get('workshops', 0)} ateliers, {ing.get('turns', 0)} "
                     f"interventions, {ing.get('segments', 0)} segments, "
                     f"{_n(ing.get('words', 0))} mots")
        per_group = ing.get("words_per_group") or {}
        if per_group:
            lines.append("  mots par groupe : " + " · ".join(
                f"{g} {_n(v)}" for g, v in sorted(per_group.items())))
    code = summary["stages"].get("code", {})
    if "n_codings" in code:
        lines.append(f"  codage : {code.get('n_codes', 0)} codes (grille "
                     f"{code.get('codebook_version')}), {_n(code['n_codings'])} codages, "
                     f"{code.get('segments_coded', 0)} segments codés")
    if code.get("n_codings_model_added") or code.get("n_codings_rule_dropped"):
        lines.append(f"  suggestions du modèle : {_n(code.get('n_codings_model_added', 0))} "
                     f"codages ajoutés aux règles, {_n(code.get('n_codings_rule_dropped', 0))} "
                     "codages des règles écartés (veto, code parent, plafond de codes par "
                     f"segment ; {code.get('n_codes_learned', 0)} codes appris)")
    if code.get("n_review_conflicts"):
        lines.append(f"  conflits de revue : {code['n_review_conflicts']} (dont "
                     f"{code.get('n_review_conflicts_unresolved', 0)} non résolus, "
                     "codages non vérifiés ; feuille « Conflits de revue »)")
    if code.get("other_coders"):
        lines.append("  codeurs hors accord (non déclarés double codeurs dans coders.csv) : "
                     + ", ".join(f"{c} ({n} codages)" for c, n in code["other_coders"].items())
                     + " ; comptés dans l'analyse")
    if code.get("anchors_orphaned") or code.get("anchors_moved") or \
            code.get("anchors_code_changed"):
        lines.append(f"  codages ancrés au texte : {code.get('anchors_kept', 0)} conservés, "
                     f"{code.get('anchors_moved', 0)} déplacés, "
                     f"{code.get('anchors_orphaned', 0)} orphelins (non appliqués), "
                     f"{code.get('anchors_code_changed', 0)} à revoir (code modifié) — "
                     "feuille « Codages orphelins »")

    top = summary["stages"].get("topics", {})
    if "n_topics" in top:
        lines.append(f"  thèmes émergents : {top['n_topics']} ({top.get('embedding')}, "
                     f"{top.get('clustering_used') or top.get('clustering')})")
        sel = top.get("k_selection")
        if sel:
            lines.append(f"  nombre de thèmes choisi par stabilité entre graines : k = "
                         f"{sel['chosen_k']} parmi " + ", ".join(
                             f"{k} ({s:.2f})".replace(".", ",")
                             for k, s in zip(sel["candidates"], sel["scores"], strict=True)))
        sample = top.get("sample") or {}
        if sample.get("sampled"):
            lines.append(f"  thèmes appris sur un échantillon de {_n(sample['n_sampled'])} "
                         f"segments sur {_n(sample['n_candidates'])} (graine fixe), les autres "
                         "rattachés au thème le plus proche")
    ev = summary["stages"].get("evidence", {})
    if "strength" in ev:
        lines.append("  preuves par thème : " + ", ".join(
            f"{k} {v}" for k, v in sorted(ev["strength"].items())))
    n_warn = len(summary["warnings"])
    lines.append(f"  avertissements : {n_warn}")
    for w in summary["warnings"][:10]:
        loc = f"{w['file']}:{w['line']}" if w.get("line") else w.get("file")
        lines.append(f"    - {loc}: {w['message']}")
    if n_warn > 10:
        lines.append(f"    … et {n_warn - 10} autre(s) dans run_summary.json")
    lines.append(f"  résultats : {summary['reports']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``consultations`` command."""
    args = _parser().parse_args(argv)
    try:
        project = Project(args.data, args.out, settings_file=args.settings, seed=args.seed,
                          n_topics=args.n_topics, embedding=args.embedding,
                          engine=args.engine or ("dask" if args.scheduler else None),
                          scheduler=args.scheduler, workers=args.workers)
        if args.command == "run":
            print(_summary_line(project.run(force=args.force)))
        elif args.command in STAGES:
            # A stage needs the ones before it: those run too, served from the cache when
            # current, so `consultations topics` works on a fresh data folder.
            print(_summary_line(project.run(args.command, force=args.force)))
        elif args.command == "init":
            out = project.init_settings(force=args.force)
            print(f"Fichier de réglages écrit : {out}")
        elif args.command == "status":
            print(project.status().to_string(index=False))
        elif args.command == "review":
            if args.action == "export":
                print(f"Classeur de revue écrit : {project.review_export()}")
            else:
                result = project.review_import(args.file)
                print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        elif args.command == "agreement":
            print(f"Rapport d'accord inter-codeurs écrit : {project.agreement_report()}")
    except InputError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"Erreur : fichier introuvable : {exc.filename or exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
