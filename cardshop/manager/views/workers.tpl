<h2>Creators</h2>
% if not creators:
<p class="muted" id="no-creators">No creator has reported yet: start cardshop-creator on a build host.</p>
% else:
<table class="list" id="creators">
  <thead><tr><th>Creator</th><th>State</th><th>Last seen</th><th>Current tasks</th></tr></thead>
  <tbody>
  % for worker in creators:
  <tr>
    <td>{{worker['_id']}}</td>
    <td><span class="status {{'s-online' if worker.get('online') else 's-offline'}}">{{('busy' if worker.get('current_tasks') else 'idle') if worker.get('online') else 'offline'}}</span></td>
    <td>{{when(worker.get('last_seen'))}}</td>
    <td>
      % for task in worker.get('current_tasks', []):
      <a href="/orders/{{task['order']}}">{{task['kind']}} of {{short_id(task['order'])}}: {{status_label(task['status'], TASK_LABELS)}}</a>
      % end
    </td>
  </tr>
  % end
  </tbody>
</table>
% end
<h2>Writer hosts</h2>
% if not writers:
<p class="muted" id="no-writers">No writer host has reported yet: register its slots with cardshop-writer-helper on the host.</p>
% end
% for worker in writers:
<section class="card writer" data-writer="{{worker['_id']}}">
  <h3>{{worker['_id']}} <span class="status {{'s-online' if worker.get('online') else 's-offline'}}">{{'online' if worker.get('online') else 'offline'}}</span>
    % if worker.get('last_seen'):
    <span class="muted seen">last seen {{when(worker['last_seen'])}}</span>
    % end
  </h3>
  % tiles = tiles_of(worker)
  % if tiles:
  <ol class="slots">
    % for tile in tiles:
    <li class="slot s-{{tile['state']}}" data-slot="{{tile['number']}}" data-state="{{tile['state']}}">
      <p class="slot-head"><strong>Slot {{tile['number']}}</strong> <span class="slot-state">{{tile['headline']}}</span></p>
      % if tile['action']:
      <p class="slot-action">→ {{tile['action']}}</p>
      % end
      % if tile['rows']:
      <dl class="slot-fields">
        % for label, text in tile['rows']:
        <dt>{{label}}</dt><dd>
        % if label == 'Order':
        <a href="/orders/{{tile['order']}}">{{text}}</a>
        % else:
        {{text}}
        % end
        </dd>
        % end
      </dl>
      % end
      % if tile['message']:
      <p class="slot-message">{{tile['message']}}</p>
      % end
    </li>
    % end
  </ol>
  % else:
  <p>{{worker.get('slots', 0)}} slot(s)</p>
  % for task in worker.get('current_tasks', []):
  <p><a href="/orders/{{task['order']}}">{{task['kind']}} of {{short_id(task['order'])}}: {{status_label(task['status'], TASK_LABELS)}}</a></p>
  % end
  % end
</section>
% end
% if host_pages > 1:
<p class="pages" id="fleet-pages">
  % if not paged:
  Hosts {{(host_page - 1) * hosts_per_page + 1}}–{{min(host_page * hosts_per_page, hosts)}} of {{hosts}}: <a href="/fleet">the whole fleet</a>
  % else:
  Page {{host_page}} of {{host_pages}} ({{hosts}} hosts)
  % if host_page > 1:
  <a href="/fleet?page={{host_page - 1}}" rel="prev">Previous hosts</a>
  % end
  % if host_page < host_pages:
  <a href="/fleet?page={{host_page + 1}}" rel="next">Next hosts</a>
  % end
  % end
</p>
% end
