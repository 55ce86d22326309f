"""Recipes: what an image holds, and the rules an order's recipe must follow."""

from cardshop.recipes.estimate import CARD_SIZES, estimate, parse_human_size, suggest_card
from cardshop.recipes.recipe import RecipeError, card_capacity, parse_size, validate_recipe

__all__ = ["CARD_SIZES", "RecipeError", "card_capacity", "estimate", "parse_human_size", "parse_size",
           "suggest_card", "validate_recipe"]
