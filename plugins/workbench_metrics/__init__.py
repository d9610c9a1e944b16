"""Built-in metrics: rating (RMSE, MAE), ranking at k (precision, recall, nDCG, MAP, MRR,
hit rate, AUC) and beyond accuracy (coverage, novelty, popularity, diversity,
personalisation). Formulas: docs/metrics.md and each metric's ``workbench metrics NAME``."""

from workbench import hookimpl


@hookimpl
def register_metrics(register):
    from workbench_metrics import beyond, ranking, rating

    # default metrics per feedback kind, in the order they are reported
    both = ["explicit", "implicit"]
    register(rating.RMSE, default="explicit")
    register(rating.MAE, default="explicit")
    register(ranking.NDCG, default=both)
    register(ranking.Precision, default=both)
    register(ranking.Recall, default=both)
    register(beyond.Coverage, default=both)
    register(ranking.MAP, default="implicit")
    register(ranking.HitRate, aliases=["hit_rate", "hr"], default="implicit")
    register(ranking.MRR)
    register(ranking.AUC)
    register(beyond.Novelty)
    register(beyond.Popularity, aliases=["popularity_bias", "arp"])
    register(beyond.Diversity, aliases=["ild"])
    register(beyond.Personalisation, aliases=["personalization"])
