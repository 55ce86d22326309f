% rebase('base.tpl', title="Orders")
<h1>Orders</h1>
<form method="get" action="/orders" class="filters">
  <fieldset>
    <legend>Status</legend>
    % for status in statuses:
    <label class="check"><input type="checkbox" name="status" value="{{status}}" {{'checked' if status in wanted else ''}}> {{status_label(status)}}</label>
    % end
  </fieldset>
  <label>Search <input name="q" value="{{needle}}" placeholder="order number (as shown, or the full id), name, email, tracking number, creator" maxlength="100"></label>
  <button type="submit">Filter</button>
  <a href="/orders">Clear</a>
</form>
<p id="order-count">{{count}} order{{'' if count == '1' else 's'}}</p>
% if not orders:
  % if wanted or needle:
<p class="muted" id="no-orders">No order matches: <a href="/orders">show them all</a>.</p>
  % else:
<p class="muted" id="no-orders">No orders yet — <a href="/orders/new">place one</a>.</p>
  % end
% else:
<table class="list" id="orders">
  <thead><tr><th>Order</th><th>Status</th><th>Recipient</th><th>Card</th><th>Qty</th><th>Placed</th><th>By</th></tr></thead>
  <tbody>
  % for order in orders:
  <tr>
    <td><a href="/orders/{{order['_id']}}"><code>{{short_id(order['_id'])}}</code></a></td>
    <td><span class="status s-{{order['status']}}">{{status_label(order['status'])}}</span></td>
    <td>{{order['recipient']['name']}} <span class="muted">{{order['recipient']['email']}}</span></td>
    <td>{{order['sd_card']['size']}} GB {{order['sd_card']['type']}}</td>
    <td>{{order['quantity']}}</td>
    <td>{{when(order.get('created_at'))}}</td>
    <td>{{order.get('created_by', '')}}</td>
  </tr>
  % end
  </tbody>
</table>
% end
<nav class="pages">
  % if not first:
  <a href="{{link()}}" rel="first">← Newest</a>
  % end
  % if older:
  <a href="{{link(older)}}" rel="next">Older →</a>
  % end
</nav>
