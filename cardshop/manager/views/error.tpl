% rebase('base.tpl', title=f"Error {status}")
<h1>Error {{status}}</h1>
<p class="error" id="error-text">{{text}}</p>
<p><a href="/">Back to the dashboard</a></p>
