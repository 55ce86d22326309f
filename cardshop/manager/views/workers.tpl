<h2>Creators</h2>
% if not creators:
<p class="muted">No creator has reported.</p>
% end
<table class="list" id="creators">
  <thead><tr><th>Creator</th><th>State</th><th>Last seen</th><th>Current tasks</th></tr></thead>
  <tbody>
  % for worker in creators:
  <tr>
    <td>{{worker['_id']}}</td>
    <td><span class="status {{'s-online' if worker.get('online') else 's-offline'}}">{{('busy' if worker.get('current_tasks') else 'idle') if worker.get('online') else 'offline'}}</span></td>
    <td>{{str(worker.get('last_seen', ''))[:19].replace('T', ' ')}}</td>
    <td>
      % for task in worker.get('current_tasks', []):
      <a href="/orders/{{task['order']}}">{{task['kind']}} {{task['status']}}</a>
      % end
    </td>
  </tr>
  % end
  </tbody>
</table>
<h2>Writer hosts</h2>
% if not writers:
<p class="muted">No writer host has reported.</p>
% end
% for worker in writers:
<section class="card writer" data-writer="{{worker['_id']}}">
  <h3>{{worker['_id']}} <span class="status {{'s-online' if worker.get('online') else 's-offline'}}">{{'online' if worker.get('online') else 'offline'}}</span>
    <span class="muted">last seen {{str(worker.get('last_seen', ''))[:19].replace('T', ' ')}}</span></h3>
  % slots = slots_of(worker)
  % if slots:
  <ol class="slots">
    % for slot in slots:
    <li class="slot s-{{slot.get('state', 'unknown')}}" data-slot="{{slot.get('number', '')}}">
      <strong>{{slot.get('number', '?')}}</strong> {{slot_summary(slot)}}
      % if get('slot_fields'):
      <dl class="slot-fields">
        % for name, value in slot_fields(slot):
        <dt>{{name}}</dt><dd>{{value}}</dd>
        % end
      </dl>
      % end
    </li>
    % end
  </ol>
  % else:
  <p>{{worker.get('slots', 0)}} slot(s)</p>
  % end
  % for task in worker.get('current_tasks', []):
  <p><a href="/orders/{{task['order']}}">{{task['kind']}} {{task['status']}}</a></p>
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
