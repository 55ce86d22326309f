% rebase('base.tpl', title="Your profile")
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
% if subscriber:
<h2 id="notifications">E-mail notifications</h2>
<form method="post" action="/notifications" class="card narrow" id="notify-form">
  <input type="hidden" name="csrf" value="{{session.csrf}}">
  % for kind, words in kinds.items():
  <label class="check"><input type="checkbox" name="notify" value="{{kind}}" {{'checked' if kind in chosen else ''}}> {{words[:1].upper() + words[1:]}}</label>
  % end
  <span class="field-error" id="error-notify">{{errors.get('notify', '')}}</span>
  <button type="submit">Save notifications</button>
</form>
<p>Mail goes to the address of your account; recipients are told by mail when their order ships.</p>
% end
