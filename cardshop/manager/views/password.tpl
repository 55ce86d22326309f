% rebase('base.tpl', title="Change password")
<h1>Change your password</h1>
<form method="post" action="/password" class="card narrow">
  <input type="hidden" name="csrf" value="{{session.csrf}}">
  <label>Current password <input name="current_password" type="password" autocomplete="current-password" required></label>
  <span class="field-error" id="error-current_password">{{errors.get('current_password', '')}}</span>
  <label>New password (8 to 72 characters) <input name="password" type="password" autocomplete="new-password" minlength="8" maxlength="72" required></label>
  <span class="field-error" id="error-password">{{errors.get('password', '')}}</span>
  <label>New password again <input name="password_again" type="password" autocomplete="new-password" required></label>
  <span class="field-error" id="error-password_again">{{errors.get('password_again', '')}}</span>
  <button type="submit">Change password</button>
</form>
<p>Changing it logs you out everywhere.</p>
