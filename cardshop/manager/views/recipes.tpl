% rebase('base.tpl', title="Recipes")
<h1>Recipes</h1>
<p><a href="/recipes/new" class="button" id="new-recipe">New recipe</a>
  <span class="muted">Import one by pasting its YAML or JSON into the new recipe form.</span></p>
% if not recipes:
<p class="muted" id="no-recipes">No recipes yet — <a href="/recipes/new">create one</a>, or keep one from an order's form.</p>
% else:
<table class="list" id="recipes">
  <thead><tr><th>Name</th><th>Description</th><th>Image</th><th>Smallest card</th><th>By</th><th></th></tr></thead>
  <tbody>
  % for kept in recipes:
  % known, unknown, output = estimate(kept['recipe'])
  % card = suggest(kept['recipe'])
  <tr data-recipe="{{kept['_id']}}">
    <td><a href="/recipes/{{kept['_id']}}" class="recipe-name">{{kept['name']}}</a></td>
    <td>{{kept.get('description', '')}}</td>
    <td>{{kept['recipe']['output']['size']}}, {{len(kept['recipe'].get('files', []))}} file(s){{f', {unknown} of unknown size' if unknown else ''}}</td>
    <td>{{f'{card} GB' if card else 'unknown'}}</td>
    <td>{{kept.get('created_by', '')}}</td>
    <td>
      <a href="/orders/new?recipe={{kept['_id']}}">Order</a> ·
      <a href="/recipes/{{kept['_id']}}.yaml">YAML</a> · <a href="/recipes/{{kept['_id']}}.json">JSON</a>
      <form method="post" action="/recipes/{{kept['_id']}}/duplicate" class="inline">
        <input type="hidden" name="csrf" value="{{session.csrf}}">
        <button type="submit" class="secondary">Duplicate</button>
      </form>
      <form method="post" action="/recipes/{{kept['_id']}}/delete" class="inline">
        <input type="hidden" name="csrf" value="{{session.csrf}}">
        <button type="submit" class="secondary">Delete</button>
      </form>
    </td>
  </tr>
  % end
  </tbody>
</table>
% end
