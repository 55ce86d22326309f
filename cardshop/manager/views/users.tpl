% rebase('base.tpl', title="Users")
<h1>Users</h1>
<section class="card">
<h2>New user</h2>
<form method="post" action="/users" class="grid" id="new-user">
  <input type="hidden" name="csrf" value="{{session.csrf}}">
  <p class="error form-error" id="error-create">{{errors.get('create', '')}}</p>
  <label>Username <input name="username" value="{{values.get('username', '')}}" required></label>
  <span class="field-error" id="error-username">{{errors.get('username', '')}}</span>
  <label>Email <input name="email" value="{{values.get('email', '')}}" required></label>
  <span class="field-error" id="error-email">{{errors.get('email', '')}}</span>
  <label>Role <select name="role">
    % for role in roles:
    <option value="{{role}}" {{'selected' if values.get('role') == role else ''}}>{{role}}</option>
    % end
  </select></label>
  <span class="field-error" id="error-role">{{errors.get('role', '')}}</span>
  <label>Password (8 to 72 characters) <input name="password" type="password" autocomplete="new-password" required></label>
  <span class="field-error" id="error-password">{{errors.get('password', '')}}</span>
  <button type="submit">Create user</button>
</form>
</section>
<table class="list" id="users">
  <thead><tr><th>User</th><th>Email</th><th>Role</th><th>State</th><th>Reset password</th><th>E-mail notifications</th></tr></thead>
  <tbody>
  % for user in users:
  <tr data-user="{{user['username']}}">
    <td>{{user['username']}}
      <span class="field-error">{{errors.get(user['username'], '')}}</span></td>
    <td>{{user.get('email', '')}}</td>
    % if user['role'] == 'system':
    <td>system</td><td>{{'active' if user['active'] else 'disabled'}}</td><td></td><td></td>
    % else:
    <td><form method="post" action="/users/{{user['username']}}" class="inline">
      <input type="hidden" name="csrf" value="{{session.csrf}}">
      <input type="hidden" name="action" value="role">
      <select name="role">
        % for role in roles:
        <option value="{{role}}" {{'selected' if user['role'] == role else ''}}>{{role}}</option>
        % end
      </select> <button type="submit" class="secondary">Change role</button></form></td>
    <td><form method="post" action="/users/{{user['username']}}" class="inline">
      <input type="hidden" name="csrf" value="{{session.csrf}}">
      {{'active' if user['active'] else 'disabled'}}
      <button type="submit" name="action" value="{{'disable' if user['active'] else 'enable'}}" class="secondary">{{'Disable' if user['active'] else 'Enable'}}</button></form></td>
    <td><form method="post" action="/users/{{user['username']}}" class="inline">
      <input type="hidden" name="csrf" value="{{session.csrf}}">
      <input type="hidden" name="action" value="password">
      <input name="password" type="password" autocomplete="new-password" placeholder="new password" required>
      <button type="submit" class="secondary">Reset</button></form></td>
    % if user['role'] in subscribers:
    <td><form method="post" action="/users/{{user['username']}}" class="inline notify">
      <input type="hidden" name="csrf" value="{{session.csrf}}">
      <input type="hidden" name="action" value="notify">
      % for kind, words in kinds.items():
      <label class="check" title="{{words}}"><input type="checkbox" name="notify" value="{{kind}}" {{'checked' if kind in user.get('notify', []) else ''}}> {{kind.replace('_', ' ')}}</label>
      % end
      <button type="submit" class="secondary">Save</button></form></td>
    % else:
    <td></td>
    % end
    % end
  </tr>
  % end
  </tbody>
</table>
% if total > len(users):
<nav class="pages">
  % if page > 1:
  <a href="/users?page={{page - 1}}">← Previous</a>
  % end
  <a href="/users?page={{page + 1}}">Next →</a>
</nav>
% end
