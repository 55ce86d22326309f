<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} · Cardshop manager</title>
<link rel="stylesheet" href="/static/manager.css">
<link rel="icon" href="/static/favicon.svg">
<script src="/static/live.js" defer></script>
</head>
<body>
<header>
  <a class="brand" href="/">Cardshop</a>
  % if session is not None:
  <nav>
    <a href="/">Dashboard</a>
    <a href="/orders">Orders</a>
    <a href="/orders/new">New order</a>
    <a href="/recipes">Recipes</a>
    <a href="/fleet">Fleet</a>
    % if session.is_admin:
    <a href="/users">Users</a>
    <a href="/schedules">Schedules</a>
    % end
  </nav>
  <div class="me">
    <a href="/password">{{session.username}}</a> <span class="role">{{session.role}}</span>
    <form method="post" action="/logout" class="inline">
      <input type="hidden" name="csrf" value="{{session.csrf}}">
      <button type="submit">Log out</button>
    </form>
  </div>
  % end
</header>
<main>
% if message:
<p class="notice">{{message}}</p>
% end
{{!base}}
</main>
</body>
</html>
