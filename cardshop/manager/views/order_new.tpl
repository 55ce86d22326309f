% rebase('base.tpl', title="New order")
<h1>New order</h1>
<form method="post" action="/orders/new" class="card" id="order-form">
  <input type="hidden" name="csrf" value="{{session.csrf}}">
  <p class="error form-error" id="error-form">{{errors.get('form', '')}}</p>
  <fieldset>
    <legend>Recipe</legend>
    % if pickable:
    <p>Start from an auto-image recipe:
    % for name in pickable:
      <a href="/orders/new?schedule={{name}}">{{name}}</a>
    % end
    </p>
    % end
    <label class="check"><input type="radio" name="recipe_source" value="compose" {{'checked' if values.get('recipe_source', 'compose') == 'compose' else ''}}> Compose below</label>
    <label class="check"><input type="radio" name="recipe_source" value="text" {{'checked' if values.get('recipe_source') == 'text' else ''}}> Use the YAML or JSON recipe (import)</label>
    <span class="field-error" id="error-recipe">{{errors.get('recipe', '')}}</span>
    <div class="compose">
      <label>Image size (bytes, 8G, or auto) <input name="output_size" value="{{values.get('output_size', 'auto')}}" data-estimate></label>
      <span class="field-error" id="error-output_size">{{errors.get('output_size', '')}}</span>
      <label>Base image URL (optional) <input name="base_source" value="{{values.get('base_source', '')}}" placeholder="https://…/base.img.xz"></label>
      <span class="field-error" id="error-base_source">{{errors.get('base_source', '')}}</span>
      <label>Base image SHA-256 <input name="base_checksum" value="{{values.get('base_checksum', '')}}"></label>
      <span class="field-error" id="error-base_checksum">{{errors.get('base_checksum', '')}}</span>
      <table class="files">
        <thead><tr><th>Path under /data</th><th>URL</th><th>SHA-256 (with a URL)</th><th>or inline content</th></tr></thead>
        <tbody>
        % for index in range(rows):
        <tr>
          <td><input name="file_to_{{index}}" value="{{values.get(f'file_to_{index}', '')}}" placeholder="/data/…"></td>
          <td><input name="file_url_{{index}}" value="{{values.get(f'file_url_{index}', '')}}"></td>
          <td><input name="file_sha256_{{index}}" value="{{values.get(f'file_sha256_{index}', '')}}"></td>
          <td><textarea name="file_content_{{index}}" rows="1" data-estimate>{{values.get(f'file_content_{index}', '')}}</textarea>
              <span class="field-error" id="error-file_{{index}}">{{errors.get(f'file_{index}', '')}}</span></td>
        </tr>
        % end
        </tbody>
      </table>
    </div>
    <label>Recipe as YAML or JSON <textarea name="recipe_text" rows="6" id="recipe-text">{{values.get('recipe_text', '')}}</textarea></label>
    <span class="field-error" id="error-recipe_text">{{errors.get('recipe_text', '')}}</span>
    <p class="estimate" id="estimate">Size estimate: <span id="estimate-bytes">{{known}}</span> bytes of inline content{{f', plus {unknown} file(s) of unknown size' if unknown else ''}}{{f'; image {output} bytes' if output else ''}}.
      Smallest card that fits: <strong id="suggestion">{{f'{suggestion} GB' if suggestion else 'unknown'}}</strong>.</p>
    <button type="submit" name="action" value="estimate" class="secondary">Check size</button>
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
