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
    "Consensus": ("consensus", "Saillance (quels groupes évoquent le thème) et accord (les "
                               "positions concordent-elles) par thème, nommés à part."),
    "Positions": ("positions", "Position de chaque intervenant sur chaque question de "
                               "position, avec sa source, sa confiance et ses segments."),
    "Positions des groupes": ("group_positions", "Distribution des positions des "
                                                 "intervenants de chaque groupe, majorité et "
                                                 "accord."),
    "Questions de position": ("position_summary", "Une ligne par question de position : "
                                                  "options, groupes, accord, vérification."),
    "Décisions à trancher": ("open_decisions", "Questions contestées ou partagées : options, "
                                               "groupes et intervenants, force, vérification."),
    "Citations par option": ("position_quotes", "Une citation par option de chaque question, "
                                                "pour voir les deux côtés."),
    "Soutiens aux recommandations": ("rec_endorsements", "Qui a soutenu ou contesté chaque "
                                                         "recommandation dans la discussion, "
                                                         "avec les segments."),
    "Recommandations × groupes": ("rec_group_matrix", "Position de chaque groupe sur chaque "
                                                      "recommandation : soutient, s'oppose, "
                                                      "partagé, non discuté."),
    "Participation": ("participation", "Participants, femmes et hommes, prise de parole par "
                                       "groupe."),
    "Termes distinctifs": ("distinctive_terms", "Termes distinctifs de chaque groupe "
                                                "(score de spécificité) avec un exemple."),
    "Recommandations": ("rec_clusters", "Recommandations des ateliers regroupées."),
    "Citations": ("evidence_quotes", "Citations retenues par thème, avec leur référence "
                                     "(segment, fichier, ligne)."),
    "Thèmes émergents": ("topic_info", "Thèmes du modèle de thèmes (BERTopic)."),
    "Thèmes émergents × groupes": ("topics_per_group", "Thèmes émergents par groupe "
                                                       "d'acteurs."),
    "Grille de codage": ("codebook", "La grille de codage (une ligne par code)."),
    "Conflits de revue": ("review_conflict_decisions", "Décisions de revue en désaccord sur "
                                                       "un même segment et code : chaque "
                                                       "relecteur, sa décision, sa date, celle "
                                                       "qui s'applique et pourquoi (un conflit "
                                                       "non résolu laisse le codage non "
                                                       "vérifié)."),
    "Codages orphelins": ("coding_anchors", "Codages manuels, décisions de revue et codages "
                                            "importés dont le texte a disparu des "
                                            "transcriptions (non appliqués), ou dont le code a "
                                            "changé depuis (à revoir)."),
}
