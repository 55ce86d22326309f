% rebase('base.tpl', title="Fleet")
<h1>Fleet</h1>
<div id="fleet" data-refresh="5">
% include('workers.tpl')
</div>
% if warehouses is not None:
<h2>Warehouses</h2>
% if not warehouses:
<p class="muted" id="no-warehouses">No warehouse yet: an admin adds one with <code>POST /warehouses</code> (docs/api.md); orders need one.</p>
% else:
<table class="list" id="warehouses">
  <thead><tr><th>Name</th><th>Upload</th><th>Download</th><th>Default</th></tr></thead>
  <tbody>
  % for warehouse in warehouses:
  <tr><td>{{warehouse['name']}}</td><td>{{warehouse['upload_url']}}</td><td>{{warehouse['download_url']}}</td><td>{{'yes' if warehouse.get('default') else ''}}</td></tr>
  % end
  </tbody>
</table>
% end
% end
