"""The per-user and per-item parts of the torch models and the model attribute holding each
(shared by the model class, its scorer and its placement; no torch import)."""

#: Per-user state parts and the model attribute holding each for trained users.
USER_PARTS = {"factors": "user_factors_", "bias": "user_bias_", "mlp_factors": "user_mlp_factors_"}
#: Per-item parts and the model attribute holding each.
ITEM_PARTS = {"factors": "item_factors_", "bias": "item_bias_", "mlp_factors": "item_mlp_factors_"}
