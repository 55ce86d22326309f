% rebase('base.tpl', title="New order")
<h1>New order</h1>
<form method="post" action="/orders/new" class="card" id="order-form">
  <input type="hidden" name="csrf" value="{{session.csrf}}">
  <p class="error form-error" id="error-form">{{errors.get('form', '')}}</p>
  <fieldset>
    <legend>Recipe</legend>
    % if kept or pickable:
    <p>Start from a recipe:
    % for recipe in kept:
      <a href="/orders/new?recipe={{recipe['_id']}}">{{recipe['name']}}</a>
    % end
    % for name in pickable:
      <a href="/orders/new?schedule={{name}}">auto-image {{name}}</a>
    % end
    </p>
    % end
    % include('recipe_fields.tpl')
  </fieldset>
  <fieldset>
    <legend>Cards</legend>
    <label>Card size (GB) <select name="card_size" id="card-size">
      % for size in card_sizes:
      <option value="{{size}}" {{'selected' if values.get('card_size', str(suggestion or 8)) == str(size) else ''}}>{{size}} GB{{' (suggested)' if size == suggestion else ''}}</option>
      % end
    </select></label>
    <span class="field-error" id="error-card_size">{{errors.get('card_size', '')}}</span>
    <label>Quantity <input name="quantity" type="number" min="1" max="10000" value="{{values.get('quantity', '1')}}"></label>
    <span class="field-error" id="error-quantity">{{errors.get('quantity', '')}}</span>
    <label class="check"><input type="radio" name="card_type" value="physical" {{'checked' if values.get('card_type') != 'download' else ''}}> Physical cards</label>
    <label class="check"><input type="radio" name="card_type" value="download" {{'checked' if values.get('card_type') == 'download' else ''}}> Download (one image)</label>
    <span class="field-error" id="error-card_type">{{errors.get('card_type', '')}}</span>
  </fieldset>
  <fieldset>
    <legend>Recipient</legend>
    <label>Name <input name="recipient_name" value="{{values.get('recipient_name', '')}}"></label>
    <span class="field-error" id="error-recipient_name">{{errors.get('recipient_name', '')}}</span>
    <label>Email <input name="recipient_email" value="{{values.get('recipient_email', '')}}"></label>
    <span class="field-error" id="error-recipient_email">{{errors.get('recipient_email', '')}}</span>
    <label>Address <textarea name="recipient_address" rows="3">{{values.get('recipient_address', '')}}</textarea></label>
    <span class="field-error" id="error-recipient_address">{{errors.get('recipient_address', '')}}</span>
    <label>Warehouse <select name="warehouse">
      <option value="">the default one</option>
      % for warehouse in warehouses:
      <option value="{{warehouse['name']}}" {{'selected' if values.get('warehouse') == warehouse['name'] else ''}}>{{warehouse['name']}}</option>
      % end
    </select></label>
    <span class="field-error" id="error-warehouse">{{errors.get('warehouse', '')}}</span>
  </fieldset>
  <button type="submit" name="action" value="place" id="place-order">Place order</button>
</form>
