"""Recipes: what an image holds, and the rules an order's recipe must follow."""

from cardshop.recipes.recipe import RecipeError, card_capacity, parse_size, validate_recipe

__all__ = ["RecipeError", "card_capacity", "parse_size", "validate_recipe"]
