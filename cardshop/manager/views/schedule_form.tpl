% rebase('base.tpl', title=("Schedule " + editing) if editing else "New schedule")
<h1>{{('Schedule ' + editing) if editing else 'New schedule'}}</h1>
<form method="post" action="{{('/schedules/' + editing) if editing else '/schedules/new'}}" class="card" id="schedule-form">
  <input type="hidden" name="csrf" value="{{session.csrf}}">
  <p class="error form-error" id="error-form">{{errors.get('form', '')}}</p>
  % if not editing:
  <label>Name <input name="name" value="{{values.get('name', '')}}" required></label>
  <span class="field-error" id="error-name">{{errors.get('name', '')}}</span>
  % end
  <label>Job <select name="job">
    % for job in jobs:
    <option value="{{job}}" {{'selected' if values.get('job') == job else ''}}>{{job}}</option>
    % end
  </select></label>
  <span class="field-error" id="error-job">{{errors.get('job', '')}}</span>
  <label>Every (seconds) <input name="every" value="{{values.get('every', '')}}"></label>
  <span class="field-error" id="error-every">{{errors.get('every', '')}}</span>
  <label>or crontab (minute hour day month weekday) <input name="crontab" value="{{values.get('crontab', '')}}" placeholder="0 3 * * *"></label>
  <span class="field-error" id="error-crontab">{{errors.get('crontab', '')}}</span>
  <label>Parameters (YAML or JSON; an auto-image takes name, recipe, card_size, warehouse)
    <textarea name="params" rows="12">{{values.get('params', '')}}</textarea></label>
  <span class="field-error" id="error-params">{{errors.get('params', '')}}</span>
  <label class="check"><input type="checkbox" name="enabled" {{'checked' if values.get('enabled') == 'on' else ''}}> Enabled</label>
  <button type="submit">Save</button>
</form>
