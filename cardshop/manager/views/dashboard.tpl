% rebase('base.tpl', title="Dashboard")
<h1>Dashboard</h1>
<div id="dashboard" data-refresh="10">
<section class="card">
  <h2>Orders by status</h2>
  <ul class="tiles" id="status-counts">
    % for status, total in totals:
    <li data-status="{{status}}"><a href="/orders?status={{status}}"><span class="count">{{total}}</span> <span class="status s-{{status}}">{{status_label(status)}}</span></a></li>
    % end
  </ul>
</section>
<section class="card">
  <h2>Failures needing attention</h2>
  % if not failed['items']:
  <p class="muted" id="no-failures">None: no order has failed.</p>
  % end
  <ul id="failures">
    % for order in failed['items']:
    % reason = (order.get('statuses') or [{}])[-1].get('note', '')
    <li><a href="/orders/{{order['_id']}}"><code>{{short_id(order['_id'])}}</code></a> <span class="status s-{{order['status']}}">{{status_label(order['status'])}}</span> {{order['recipient']['name']}} — {{reason}}</li>
    % end
  </ul>
  % if failed['next']:
  <p><a href="{{failed_link}}">All {{failed_total}} failed orders</a></p>
  % end
</section>
<section class="card">
  % include('workers.tpl')
</section>
</div>
