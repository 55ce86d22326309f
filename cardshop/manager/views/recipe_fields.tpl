% # The recipe part of a form: composed in rows, or YAML/JSON text; with the size estimate.
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
        <thead><tr><th>Path under /data</th><th>URL</th><th>Size (with a URL: bytes, 4.2G, 512M)</th><th>SHA-256 (with a URL)</th><th>or inline content</th></tr></thead>
        <tbody>
        % for index in range(rows):
        <tr>
          <td><input name="file_to_{{index}}" value="{{values.get(f'file_to_{index}', '')}}" placeholder="/data/…"></td>
          <td><input name="file_url_{{index}}" value="{{values.get(f'file_url_{index}', '')}}"></td>
          <td><input name="file_size_{{index}}" value="{{values.get(f'file_size_{index}', '')}}" size="10" data-estimate>
              <span class="muted file-size" id="file-size-{{index}}">{{sizes.get(index, '')}}</span></td>
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
    <p class="estimate" id="estimate" data-live="/recipes/estimate.json">Size estimate: <span id="estimate-bytes">{{known}}</span> bytes known (inline content and the sizes given with URLs)<span id="estimate-unknown">{{f', plus {unknown} URL file(s) of unknown size' if unknown else ''}}</span><span id="estimate-output">{{f'; image {output} bytes' if output else ''}}</span>.
      Smallest card that fits: <strong id="suggestion">{{f'{suggestion} GB' if suggestion else 'unknown'}}</strong>.</p>
    <button type="submit" name="action" value="estimate" class="secondary">Check size</button>
