"""Built-in metrics: rating (RMSE, MAE), ranking at k (precision, recall, nDCG, MAP, MRR,
hit rate, AUC) and beyond accuracy (coverage, novelty, popularity, diversity,
personalisation). Formulas: docs/metrics.md and each metric's ``workbench metrics NAME``."""

from workbench import hookimpl


@hookimpl
def register_metrics(register):
    from workbench_metrics import beyond, ranking, rating

    register(rating.RMSE)
    register(rating.MAE)
    register(ranking.Precision)
    register(ranking.Recall)
    register(ranking.NDCG)
    register(ranking.MAP)
    register(ranking.MRR)
    register(ranking.HitRate, aliases=["hit_rate", "hr"])
    register(ranking.AUC)
    register(beyond.Coverage)
    register(beyond.Novelty)
    register(beyond.Popularity, aliases=["popularity_bias", "arp"])
    register(beyond.Diversity, aliases=["ild"])
    register(beyond.Personalisation, aliases=["personalization"])
