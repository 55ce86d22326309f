% rebase('base.tpl', title="Recipe" if recipe_id else "New recipe")
<h1>{{'Recipe' if recipe_id else 'New recipe'}}</h1>
<form method="post" action="{{('/recipes/' + recipe_id) if recipe_id else '/recipes/new'}}" class="card" id="recipe-form">
  <input type="hidden" name="csrf" value="{{session.csrf}}">
  <p class="error form-error" id="error-form">{{errors.get('form', '')}}</p>
  <label>Name <input name="name" value="{{values.get('name', '')}}" maxlength="200" required></label>
  <span class="field-error" id="error-name">{{errors.get('name', '')}}</span>
  <label>Description <input name="description" value="{{values.get('description', '')}}" maxlength="2000"></label>
  <span class="field-error" id="error-description">{{errors.get('description', '')}}</span>
  <fieldset>
    <legend>Content</legend>
    % include('recipe_fields.tpl')
  </fieldset>
  <button type="submit" name="action" value="save" id="save-recipe">Save recipe</button>
  % if recipe_id:
  <a href="/orders/new?recipe={{recipe_id}}">Order it</a>
  % end
</form>
