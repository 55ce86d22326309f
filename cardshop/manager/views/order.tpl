% rebase('base.tpl', title="Order " + order['_id'][-8:])
% shipment = get('shipment', {}) or {}
<h1>Order <code>{{order['_id']}}</code></h1>
<div id="order-live" data-live="/orders/{{order['_id']}}/live.json{{('?task=' + shown['_id']) if shown else ''}}">
<p>Status: <span class="status s-{{order['status']}}" id="order-status">{{order['status']}}</span>
  <span class="muted" id="live-note"></span></p>
<div class="columns">
<section class="card">
  <h2>Order</h2>
  <dl>
    <dt>Cards</dt><dd>{{order['quantity']}} × {{order['sd_card']['size']}} GB, {{order['sd_card']['type']}}</dd>
    <dt>Recipient</dt><dd id="recipient-name">{{order['recipient']['name']}}</dd>
    <dt>Email</dt><dd>{{order['recipient']['email']}}</dd>
    <dt>Address</dt><dd class="pre">{{order['recipient']['address']}}</dd>
    <dt>Warehouse</dt><dd>{{order.get('warehouse', '')}}</dd>
    <dt>Placed by</dt><dd>{{order.get('created_by', '')}} at {{str(order.get('created_at', ''))[:19].replace('T', ' ')}}</dd>
    % if order.get('shipment'):
    <dt>Shipped</dt><dd>{{order['shipment']['carrier']}} {{order['shipment']['tracking_number']}}
      % if order['shipment'].get('tracking_url'):
      <a href="{{order['shipment']['tracking_url']}}" rel="noopener noreferrer">track</a>
      % end
    </dd>
    % end
  </dl>
  <p>Recipe: <a href="/orders/{{order['_id']}}/recipe.yaml">YAML</a> · <a href="/orders/{{order['_id']}}/recipe.json">JSON</a> ·
     <a href="/orders/new?from={{order['_id']}}">Duplicate as a new order</a></p>
</section>
<section class="card">
  <h2>Timeline</h2>
  <ol class="timeline" id="timeline">
    % for step in order.get('statuses', []):
    <li><span class="status s-{{step['status']}}">{{step['status']}}</span> {{str(step['at'])[:19].replace('T', ' ')}} by {{step['by']}}{{(' — ' + step['note']) if step.get('note') else ''}}</li>
    % end
  </ol>
</section>
</div>
<section class="card">
  <h2>Tasks</h2>
  <table class="list" id="tasks">
    <thead><tr><th>Task</th><th>Kind</th><th>Status</th><th>Worker</th><th>Progress</th><th>Logs</th></tr></thead>
    <tbody>
    % for task in live['tasks']:
    <tr data-task="{{task['_id']}}">
      <td><code>{{task['_id'][-8:]}}</code></td>
      <td>{{task['kind']}}</td>
      <td class="task-status"><span class="status s-{{task['status']}}">{{task['status']}}</span></td>
      <td class="task-worker">{{task.get('worker') or '—'}}</td>
      <td class="task-progress">
        % if isinstance(task.get('percent'), (int, float)):
        <progress max="100" value="{{task['percent']}}">{{task['percent']}} %</progress>
        % end
        <span class="progress-text">{{task['progress']}}</span>
      </td>
      <td><a href="/orders/{{order['_id']}}?task={{task['_id']}}#logs">{{'shown' if shown and shown['_id'] == task['_id'] else 'show'}}</a></td>
    </tr>
    % end
    </tbody>
  </table>
</section>
<section class="card" id="logs">
  <h2>Log of {{shown['kind'] + ' task ' + shown['_id'][-8:] if shown else 'no task'}}</h2>
  <ol class="log" id="log-lines">
    % for line in live['logs']:
    <li class="level-{{line['level']}}"><span class="muted">{{str(line.get('at') or '')[11:19]}}</span> {{line['level']}}: {{line['message']}}</li>
    % end
  </ol>
  % if not live['logs']:
  <p class="muted" id="no-logs">No log lines yet.</p>
  % end
</section>
</div>
<section class="card actions" id="actions">
  <h2>Actions</h2>
  % if not actions:
  <p>None: the order has ended.</p>
  % end
  % if 'cancel' in actions:
  <form method="post" action="/orders/{{order['_id']}}/cancel" class="action" id="cancel-form">
    <input type="hidden" name="csrf" value="{{session.csrf}}">
    <label>Reason <input name="reason" maxlength="2000"></label>
    <button type="submit" class="danger" id="cancel-order">Cancel order</button>
  </form>
  % end
  % if 'retry' in actions:
  <form method="post" action="/orders/{{order['_id']}}/retry" class="action" id="retry-form">
    <input type="hidden" name="csrf" value="{{session.csrf}}">
    <label>Why <input name="reason" maxlength="2000"></label>
    <button type="submit" id="retry-order">{{'Retry creating the image' if order['status'] == 'creation_failed' else 'Retry writing the cards still to write'}}</button>
  </form>
  % end
  % if 'ship' in actions:
  <form method="post" action="/orders/{{order['_id']}}/ship" class="action" id="ship-form">
    <input type="hidden" name="csrf" value="{{session.csrf}}">
    <span class="field-error" id="error-ship">{{errors.get('ship', '')}}</span>
    <label>Carrier <input name="carrier" value="{{shipment.get('carrier', '')}}" required></label>
    <label>Tracking number <input name="tracking_number" value="{{shipment.get('tracking_number', '')}}" required></label>
    <label>Tracking URL <input name="tracking_url" value="{{shipment.get('tracking_url', '')}}"></label>
    <label>Note <input name="note" value="{{shipment.get('note', '')}}"></label>
    <button type="submit">Mark shipped</button>
  </form>
  % end
  % if 'delete' in actions:
  <form method="post" action="/orders/{{order['_id']}}/delete" class="action">
    <input type="hidden" name="csrf" value="{{session.csrf}}">
    <button type="submit" class="danger">Delete order</button>
  </form>
  % end
</section>
