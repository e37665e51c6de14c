"""The evidence workbook's sheets: which table each shows, and what it holds (in French).

Kept apart from :mod:`consultations.report.workbook` so that the brief can name a sheet (figure
and table sources) without importing the workbook writer.
"""

from __future__ import annotations

__all__ = ["SHEETS"]

#: Sheet name → (table, description). Sheet names are at most 31 characters.
SHEETS: dict[str, tuple[str, str]] = {
    "Thèmes": ("evidence_by_theme", "Éléments probants par thème : ampleur, groupes, test, "
                                    "consensus, recommandations liées, force."),
    "Axes": ("evidence_by_axis", "Éléments probants par axe de la stratégie."),
    "Codes × groupes": ("code_group_counts", "Thèmes × groupes d'acteurs : effectifs "
                                             "(segments, intervenants, ateliers) et taux."),
    "Tests": ("code_group_tests", "Test d'indépendance thème × groupe, p ajusté "
                                  "(Benjamini-Hochberg), V de Cramér."),
    "Résidus": ("code_group_residuals", "Écarts à l'attendu par cellule thème × groupe."),
    "Consensus": ("consensus", "Consensus entre groupes par thème."),
    "Termes distinctifs": ("distinctive_terms", "Termes distinctifs de chaque groupe "
                                                "(score de spécificité) avec un exemple."),
    "Recommandations": ("rec_clusters", "Recommandations des ateliers regroupées."),
    "Citations": ("evidence_quotes", "Citations retenues par thème, avec leur référence "
                                     "(segment, fichier, ligne)."),
    "Thèmes émergents": ("topic_info", "Thèmes du modèle de thèmes (BERTopic)."),
    "Thèmes émergents × groupes": ("topics_per_group", "Thèmes émergents par groupe "
                                                       "d'acteurs."),
    "Grille de codage": ("codebook", "La grille de codage (une ligne par code)."),
}
