% rebase('base.tpl', title="Order " + short_id(order['_id']))
% shipment = get('shipment', {}) or {}
<h1>Order <code>{{short_id(order['_id'])}}</code> <small class="muted">id <code>{{order['_id']}}</code></small></h1>
<div id="order-live" data-live="/orders/{{order['_id']}}/live.json{{('?task=' + shown['_id']) if shown else ''}}">
<p>Status: <span class="status s-{{order['status']}}" id="order-status" data-status="{{order['status']}}">{{status_label(order['status'])}}</span></p>
<div class="columns">
<section class="card">
  <h2>Order</h2>
  <dl>
    <dt>Cards</dt><dd>{{order['quantity']}} × {{order['sd_card']['size']}} GB, {{order['sd_card']['type']}}</dd>
    <dt>Recipient</dt><dd id="recipient-name">{{order['recipient']['name']}}</dd>
    <dt>Email</dt><dd>{{order['recipient']['email']}}</dd>
    <dt>Address</dt><dd class="pre">{{order['recipient']['address']}}</dd>
    <dt>Warehouse</dt><dd>{{order.get('warehouse', '')}}</dd>
    <dt>Placed by</dt><dd>{{order.get('created_by', '')}} at {{when(order.get('created_at'))}}</dd>
    <dt>Image</dt><dd id="order-image">{{live['image'] or 'not made yet'}}</dd>
    % if order.get('image_source'):
    <dt>Image made by</dt><dd id="image-source">order <a href="/orders/{{order['image_source']['order']}}"><code>{{short_id(order['image_source']['order'])}}</code></a>{{(' (auto-image ' + order['image_source']['auto_image'] + ')') if order['image_source'].get('auto_image') else ''}}</dd>
    % end
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
    % for step in live['statuses']:
    <li><span class="status s-{{step['status']}}">{{step['label']}}</span> {{step['at']}} by {{step['by']}}{{(' — ' + step['note']) if step['note'] else ''}}</li>
    % end
  </ol>
</section>
</div>
% if order['sd_card']['type'] == 'physical':
<section class="card">
  <h2>Written cards <span class="muted" id="cards-count">{{len(live['cards'])}} of {{order['quantity']}}</span></h2>
  <p class="muted" id="no-cards"{{!' hidden' if live['cards'] else ''}}>No card written yet.</p>
  <table class="list" id="cards"{{!'' if live['cards'] else ' hidden'}}>
    <thead><tr><th>Host</th><th>Slot</th><th>Serial</th><th>Size</th><th>Verified at</th></tr></thead>
    <tbody>
    % for card in live['cards']:
    <tr><td>{{card['host']}}</td><td>{{card['slot']}}</td><td>{{card['serial']}}</td><td>{{card['size']}}</td><td>{{card['at']}}</td></tr>
    % end
    </tbody>
  </table>
</section>
% end
<section class="card">
  <h2>Tasks</h2>
  <table class="list" id="tasks">
    <thead><tr><th>Task</th><th>Kind</th><th>Status</th><th>Worker</th><th>Progress</th><th>Logs</th></tr></thead>
    <tbody>
    % for task in live['tasks']:
    <tr data-task="{{task['_id']}}">
      <td><code>{{task['short']}}</code></td>
      <td>{{task['kind']}}</td>
      <td class="task-status"><span class="status s-{{task['status']}}">{{task['label']}}</span></td>
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
  <h2>Log of {{shown['kind'] + ' task ' + short_id(shown['_id']) if shown else 'no task'}}</h2>
  <ol class="log" id="log-lines">
    % for line in live['logs']:
    <li class="level-{{line['level']}}"><span class="muted">{{line['at']}}</span> {{line['level']}}: {{line['message']}}</li>
    % end
  </ol>
  % if not live['logs']:
  <p class="muted" id="no-logs">No log lines yet.</p>
  % end
</section>
</div>
<section class="card actions" id="actions">
  <h2>Actions</h2>
  <p id="no-actions"{{!'' if not actions else ' hidden'}}>None: the order has ended.</p>
  % if order['sd_card']['type'] == 'physical':
  <form method="post" action="/orders/{{order['_id']}}/ship" class="action" id="ship-form" data-action="ship"{{!'' if 'ship' in actions else ' hidden'}}>
    <input type="hidden" name="csrf" value="{{session.csrf}}">
    <p class="hint">The cards are written and verified: take them out, pack them and record the shipment.</p>
    <span class="field-error" id="error-ship">{{errors.get('ship', '')}}</span>
    <label>Carrier <input name="carrier" value="{{shipment.get('carrier', '')}}" required></label>
    <label>Tracking number <input name="tracking_number" value="{{shipment.get('tracking_number', '')}}" required></label>
    <label>Tracking URL <input name="tracking_url" value="{{shipment.get('tracking_url', '')}}"></label>
    <label>Note <input name="note" value="{{shipment.get('note', '')}}"></label>
    <button type="submit">Mark shipped</button>
  </form>
  % end
  <form method="post" action="/orders/{{order['_id']}}/cancel" class="action" id="cancel-form" data-action="cancel"{{!'' if 'cancel' in actions else ' hidden'}}>
    <input type="hidden" name="csrf" value="{{session.csrf}}">
    <label>Reason <input name="reason" maxlength="2000"></label>
    <button type="submit" class="danger" id="cancel-order">Cancel order</button>
  </form>
  <form method="post" action="/orders/{{order['_id']}}/retry" class="action" id="retry-form" data-action="retry"{{!'' if 'retry' in actions else ' hidden'}}>
    <input type="hidden" name="csrf" value="{{session.csrf}}">
    <label>Why <input name="reason" maxlength="2000"></label>
    <button type="submit" id="retry-order">{{live['retry_label']}}</button>
  </form>
  % more = get('more') or {'sd_card': order['sd_card'], 'quantity': 1, 'recipient': order['recipient']}
  <form method="post" action="/orders/{{order['_id']}}/more" class="action" id="more-form" data-action="order_more"{{!'' if 'order_more' in actions else ' hidden'}}>
    <input type="hidden" name="csrf" value="{{session.csrf}}">
    <p class="hint">Order more cards of this image: no new build, the cards go to the writers at once (a download is ready at once).</p>
    <span class="field-error" id="error-more">{{errors.get('order_more', '')}}</span>
    <label>Card size (GB) <input name="card_size" type="number" min="1" value="{{more['sd_card']['size']}}" required></label>
    <label>Cards <input name="quantity" type="number" min="1" value="{{more['quantity']}}" required></label>
    <label>Type <select name="card_type">
      % for kind in ('physical', 'download'):
      <option value="{{kind}}"{{!' selected' if more['sd_card']['type'] == kind else ''}}>{{kind}}</option>
      % end
    </select></label>
    <label>Recipient <input name="recipient_name" value="{{more['recipient'].get('name', '')}}" required></label>
    <label>Email <input name="recipient_email" type="email" value="{{more['recipient'].get('email', '')}}" required></label>
    <label>Address <input name="recipient_address" value="{{more['recipient'].get('address', '')}}" required></label>
    <button type="submit" id="order-more">Order more cards of this image</button>
  </form>
  <form method="post" action="/orders/{{order['_id']}}/delete" class="action" id="delete-form" data-action="delete"{{!'' if 'delete' in actions else ' hidden'}}>
    <input type="hidden" name="csrf" value="{{session.csrf}}">
    <button type="submit" class="danger">Delete order</button>
  </form>
</section>
