% rebase('base.tpl', title="Log in")
<h1>Log in</h1>
% if changed:
<p class="notice">Your password was changed; log in with the new one.</p>
% end
% if error:
<p class="error" id="login-error">{{error}}</p>
% end
<form method="post" action="/login" class="card narrow">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <input type="hidden" name="next" value="{{next}}">
  <label>Username <input name="username" value="{{username}}" autocomplete="username" required autofocus></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Log in</button>
</form>
